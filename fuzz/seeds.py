#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: real-shaped samples
of each input surface (Helix bodies as docs and tests show them, SQL the
README and clients send, Flight SQL messages as ADBC/JDBC encode them,
config files from the README, chat lines as Twitch sends them).

Run from the repository root with pyarrow installed (the test venv has it):
    ~/.cache/twitch-monitor/venv/bin/python fuzz/seeds.py
Protobuf messages are encoded by hand (a few fields each).
"""
import io
import json
import os

import pyarrow as pa
import pyarrow.ipc as ipc

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- helix
def stream(i, **kw):
    s = {
        "id": f"4{i:010d}", "user_id": f"{1000 + i}", "user_login": f"streamer{i}",
        "user_name": f"Streamer{i}", "game_id": "509658", "game_name": "Just Chatting",
        "type": "live", "title": f"day {i} of the marathon !drops", "tags": ["English", "Chill"],
        "viewer_count": 1000 - i, "started_at": "2026-01-05T09:58:12Z", "language": "en",
        "thumbnail_url": f"https://static-cdn.jtvnw.net/previews-ttv/live_user_streamer{i}-{{width}}x{{height}}.jpg",
        "tag_ids": [], "is_mature": False,
    }
    s.update(kw)
    return s


def page(data, cursor=None, **extra):
    body = {"data": data, "pagination": {"cursor": cursor} if cursor else {}}
    body.update(extra)
    return json.dumps(body)


put("helix", "streams_page", page([stream(1), stream(2)], "eyJiIjpudWxsLCJhIjp7Ik9mZnNldCI6MTAwfX0"))
put("helix", "streams_last_page", page([stream(3)]))
put("helix", "streams_nulls", page([stream(4, tags=None, tag_ids=None, game_id="", game_name="")]))
put("helix", "streams_minimal", '{"data":[{"id":"1","user_id":"9","user_login":"a","user_name":"A","viewer_count":5,"started_at":"2026-01-01T00:00:00Z"}]}')
put("helix", "streams_unicode", page([stream(5, title="caf\u00e9 \ud83d\ude00 \u0645\u0631\u062d\u0628\u0627", user_name="\u30c6\u30b9\u30c8")]))
put("helix", "streams_odd_times", page([stream(6, started_at="2026-01-05T09:58:12.123456789+02:00"),
                                          stream(7, started_at="0000-01-01T00:00:00Z"),
                                          stream(8, started_at="9999-12-31T23:59:59Z"),
                                          stream(9, started_at="yesterday")]))
put("helix", "streams_repeat_and_loop",
    page([stream(1), stream(2)], "abc") + "\0" + page([stream(2), stream(10)], "abc"))
put("helix", "streams_restart",
    page([stream(1)], "c1") + "\0" + page([stream(11, user_id="1001", started_at="2026-01-05T10:20:00Z")]))
put("helix", "streams_empty_cursor", '{"data":[],"pagination":{"cursor":""}}')
put("helix", "data_null", '{"data":null,"pagination":{}}')
put("helix", "no_data", '{"pagination":{}}')
put("helix", "users_page", page([{
    "id": "141981764", "login": "twitchdev", "display_name": "TwitchDev", "type": "",
    "broadcaster_type": "partner", "description": "Supporting third-party developers building Twitch integrations.",
    "profile_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/8a6381c7-d0c0-4576-b179-38bd5ce1d6af-profile_image-300x300.png",
    "offline_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/3f13ab61-ec78-4fe6-8481-8682cb3b0ac2-channel_offline_image-1920x1080.png",
    "view_count": 5980557, "created_at": "2016-12-14T20:32:28Z"}]).replace(',"pagination":{}', ""))
put("helix", "users_renamed",
    '{"data":[{"id":"1001","login":"old","created_at":"2016-12-14T20:32:28Z"}]}' + "\0" +
    '{"data":[{"id":"1001","login":"new","display_name":"New","created_at":"2016-12-14T20:32:28Z"}]}')
put("helix", "channels_page", '{"data":[{"broadcaster_id":"141981764","broadcaster_login":"twitchdev","broadcaster_name":"TwitchDev","broadcaster_language":"en","game_id":"509670","game_name":"Science & Technology","title":"TwitchDev Monthly Update // May 6, 2021","delay":0,"tags":["DevsInTheKnow"],"content_classification_labels":["Gambling"],"is_branded_content":false}]}')
put("helix", "followers_total", '{"total":8,"data":[],"pagination":{}}')
put("helix", "followers_with_data", '{"total":8,"data":[{"user_id":"11111","user_name":"UserDisplayName","user_login":"userloginname","followed_at":"2022-05-24T22:22:08Z"}],"pagination":{"cursor":"eyJiIjpudWxsLCJhIjp7Ik9mZnNldCI6NX19"}}')
put("helix", "followers_missing_total", '{"data":[],"pagination":{}}')
put("helix", "followers_two_cycles", '{"total":1000,"data":[]}' + "\0" + '{"total":1010,"data":[]}' + "\0" + '{"total":990,"data":[]}')
put("helix", "games_page", '{"data":[{"id":"33214","name":"Fortnite","box_art_url":"https://static-cdn.jtvnw.net/ttv-boxart/33214-{width}x{height}.jpg","igdb_id":"1905"}]}')
put("helix", "games_top", page([{"id": "509658", "name": "Just Chatting", "box_art_url": "https://static-cdn.jtvnw.net/ttv-boxart/509658-{width}x{height}.jpg", "igdb_id": ""},
                                 {"id": "21779", "name": "League of Legends", "box_art_url": "", "igdb_id": "115"}], "eyJzIjoyMC43NjY2NjY2NjY2NjY2NjgsImQiOmZhbHNlLCJ0Ijp0cnVlfQ=="))
put("helix", "error_401", '{"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}')
put("helix", "error_missing_user_token", '{"error":"Unauthorized","status":401,"message":"Missing User OAUTH Token"}')
put("helix", "error_429", '{"error":"Too Many Requests","status":429,"message":"Request limit exceeded"}')
put("helix", "error_auth_host", '{"status":403,"message":"invalid client secret"}')
put("helix", "error_no_message", '{"error":"Bad Request","status":400}')
put("helix", "proxy_502", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
put("helix", "truncated", page([stream(1), stream(2)], "abc")[:300])
put("helix", "empty", "")
put("helix", "token", '{"access_token":"jostpf5q0uzmxmkba9iyug38kjtgh","expires_in":5011271,"token_type":"bearer"}')

# ---------------------------------------------------------------- sql
sqls = {
    "leaderboard_param": "SELECT * FROM twitch.gold.leaderboard_daily WHERE metric = 'hours_watched' AND rank <= ?",
    "live_top": "SELECT * FROM twitch.live.leaderboard LIMIT 10",
    "count_snapshots": "SELECT count(*) FROM twitch.silver.stream_snapshots",
    "default_schema": "SELECT day, login, hours_watched FROM streamer_daily WHERE day >= DATE '2026-01-01' ORDER BY hours_watched DESC LIMIT 20",
    "dollar_params": "SELECT user_login, viewer_count FROM twitch.silver.stream_snapshots WHERE observed_at BETWEEN $1 AND $2 AND viewer_count > $3",
    "placeholders_in_literals": "SELECT '?', \"user_id\" FROM twitch.live.streams -- what?\nWHERE login = ? /* ? */ AND title LIKE 'it''s %?%'",
    "mixed_placeholders": "SELECT ?, $1",
    "information_schema": "SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY 1, 2",
    "columns": "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'streams'",
    "show_tables": "SHOW TABLES",
    "show_columns": "SHOW COLUMNS FROM twitch.gold.streamer_daily",
    "explain": "EXPLAIN SELECT game_name, sum(viewer_count) FROM twitch.live.streams GROUP BY game_name",
    "cte_window": "WITH d AS (SELECT user_id, day, hours_watched, rank() OVER (PARTITION BY day ORDER BY hours_watched DESC) AS r FROM twitch.gold.streamer_daily) SELECT * FROM d WHERE r <= 3",
    "join": "SELECT s.login, f.followers_total FROM twitch.live.streams s JOIN twitch.silver.follower_snapshots f ON s.user_id = f.user_id WHERE f.observed_at > now() - INTERVAL '1 day'",
    "unnest_tags": "SELECT tag, count(*) FROM (SELECT unnest(tags) AS tag FROM twitch.silver.stream_snapshots) GROUP BY tag ORDER BY 2 DESC",
    "date_trunc": "SELECT date_trunc('hour', observed_at) AS h, avg(viewer_count) FROM twitch.silver.stream_snapshots GROUP BY 1 ORDER BY 1",
    "generate_series": "SELECT * FROM generate_series(1, 3)",
    "case_cast": "SELECT CASE WHEN viewer_count > 1000 THEN 'big' ELSE CAST(viewer_count AS VARCHAR) END FROM twitch.live.streams",
    "union_subquery": "SELECT login FROM twitch.live.streams WHERE user_id IN (SELECT user_id FROM twitch.gold.rising_stars WHERE rank <= 10) UNION ALL SELECT 'x'",
    "regexp": "SELECT login FROM twitch.live.streams WHERE regexp_like(title, '(?i)drops') AND language IN ('en', 'de')",
    "chat": "SELECT channel, sentiment_5m, messages_per_minute_5m FROM twitch.live.chat ORDER BY messages_per_minute_5m DESC NULLS LAST",
    "bronze_json": "SELECT endpoint, http_status, length(payload) FROM twitch.bronze.helix_responses WHERE http_status <> 200",
    "insert": "INSERT INTO twitch.gold.streamer_daily VALUES (1)",
    "copy": "COPY (SELECT 1) TO '/tmp/x.csv'",
    "external_table": "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
    "read_file": "SELECT * FROM read_parquet('/etc/passwd')",
    "file_table": "SELECT * FROM '/etc/passwd'",
    "select_into": "SELECT 1 INTO t2",
    "set": "SET datafusion.execution.batch_size = 1",
    "two_statements": "SELECT 1; SELECT 2",
    "syntax_error": "SELEC login FROM twitch.live.streams",
}
for name, text in sqls.items():
    put("sql", name, text)


# ---------------------------------------------------------------- protobuf
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    if isinstance(value, bool):
        return varint(num << 3) + varint(int(value))
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint((num << 3) | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields if v is not None)


def any_of(name, body):
    return msg((1, "type.googleapis.com/arrow.flight.protocol.sql." + name), (2, body))


def ipc_stream(batches, schema=None):
    sink = io.BytesIO()
    schema = schema or batches[0].schema
    with ipc.new_stream(sink, schema) as w:
        for b in batches:
            w.write_batch(b)
    return sink.getvalue()


def handle(sql, params=b""):
    return msg((1, sql), (2, params or None))


UTC = pa.timestamp("ms", tz="UTC")
one_int = ipc_stream([pa.record_batch([pa.array([10], pa.int64())], names=["$1"])])
typed5 = ipc_stream([pa.record_batch([
    pa.array([1767571200000], UTC), pa.array(["shroud"]), pa.array([100], pa.int64()),
    pa.array([60.0]), pa.array([20458], pa.date32())], names=["$1", "$2", "$3", "$4", "$5"])])

cmds = {
    "statement_query": any_of("CommandStatementQuery", msg((1, "SELECT * FROM twitch.live.leaderboard"))),
    "statement_query_params": any_of("CommandStatementQuery", msg((1, "SELECT * FROM twitch.gold.leaderboard_daily WHERE rank <= ?"))),
    "get_catalogs": any_of("CommandGetCatalogs", b""),
    "get_db_schemas": any_of("CommandGetDbSchemas", msg((1, "twitch"), (2, "g%"))),
    "get_tables": any_of("CommandGetTables", msg((1, "twitch"), (2, "%"), (3, "stream_%"), (4, "TABLE"), (4, "VIEW"), (5, True))),
    "get_tables_escapes": any_of("CommandGetTables", msg((2, "l_v\\_"), (3, "%\\%%"))),
    "get_table_types": any_of("CommandGetTableTypes", b""),
    "get_sql_info": any_of("CommandGetSqlInfo", msg((1, 0), (1, 1), (1, 2), (1, 500), (1, 504))),
    "get_sql_info_all": any_of("CommandGetSqlInfo", b""),
    "get_xdbc_type_info": any_of("CommandGetXdbcTypeInfo", msg((1, 12))),
    "get_xdbc_all": any_of("CommandGetXdbcTypeInfo", b""),
    "get_primary_keys": any_of("CommandGetPrimaryKeys", msg((1, "twitch"), (2, "gold"), (3, "streamer_daily"))),
    "get_exported_keys": any_of("CommandGetExportedKeys", msg((3, "streamer_daily"))),
    "get_imported_keys": any_of("CommandGetImportedKeys", msg((3, "streamer_daily"))),
    "get_cross_reference": any_of("CommandGetCrossReference", msg((3, "a"), (6, "b"))),
    "prepared_query": any_of("CommandPreparedStatementQuery", msg((1, handle("SELECT * FROM twitch.gold.leaderboard_daily WHERE rank <= $1", one_int)))),
    "ticket_statement": any_of("TicketStatementQuery", msg((1, handle("SELECT 1")))),
    "statement_update": any_of("CommandStatementUpdate", msg((1, "DELETE FROM twitch.gold.streamer_daily"))),
    "substrait": any_of("CommandStatementSubstraitPlan", msg((1, msg((1, b"\x0a\x00"), (2, "0.1"))))),
    "create_prepared": any_of("ActionCreatePreparedStatementRequest", msg((1, "SELECT login FROM twitch.live.streams WHERE viewer_count > ?"))),
    "close_prepared": any_of("ActionClosePreparedStatementRequest", msg((1, handle("SELECT 1")))),
    "begin_transaction": any_of("ActionBeginTransactionRequest", b""),
    "cancel_query": any_of("ActionCancelQueryRequest", msg((1, b"info"))),
    "unknown_type": msg((1, "type.googleapis.com/google.protobuf.Empty"), (2, b"")),
    "plain_sql": "SELECT * FROM twitch.live.leaderboard",
    "plain_sql_refused": "DROP TABLE twitch.gold.streamer_daily",
    "blank": "   ",
    "not_utf8": b"\xff\xfe\x00\x01",
}
for name, data in cmds.items():
    put("flight_command", name, data)

handles = {
    "sql_only": handle("SELECT * FROM twitch.live.leaderboard LIMIT 10"),
    "with_param": handle("SELECT * FROM twitch.gold.leaderboard_daily WHERE rank <= $1", one_int),
    "typed_params": handle("SELECT user_login FROM twitch.silver.stream_snapshots WHERE observed_at >= $1 AND user_login = $2 AND viewer_count > $3 AND interval_seconds < $4 AND observed_date = $5", typed5),
    "unbound_param": handle("SELECT * FROM twitch.gold.leaderboard_daily WHERE rank <= $1"),
    "too_many_params": handle("SELECT 1", one_int),
    "refused_sql": handle("DELETE FROM twitch.gold.streamer_daily"),
    "bad_params": handle("SELECT $1", b"junk"),
    "empty": b"",
    "unknown_field": msg((1, "SELECT 1"), (7, "x")),
}
for name, data in handles.items():
    put("flight_handle", name, data)

params = {
    "int64": one_int,
    "typed5": typed5,
    "string_null": ipc_stream([pa.record_batch([pa.array([None], pa.string())], names=["$1"])]),
    "timestamp_us": ipc_stream([pa.record_batch([pa.array([1767571200000000], pa.timestamp("us"))], names=["$1"])]),
    "two_batches": ipc_stream([pa.record_batch([pa.array([1], pa.int32()), pa.array(["a"])], names=["$1", "$2"]),
                               pa.record_batch([pa.array([2], pa.int32()), pa.array(["b"])], names=["$1", "$2"])]),
    "zero_rows": ipc_stream([pa.record_batch([pa.array([], pa.int64())], names=["$1"])]),
    "schema_only": ipc_stream([], schema=pa.schema([("$1", pa.int64())])),
    "list_of_strings": ipc_stream([pa.record_batch([pa.array([["English", "Chill"]], pa.list_(pa.string()))], names=["$1"])]),
    "dictionary": ipc_stream([pa.record_batch([pa.array(["de"]).dictionary_encode()], names=["$1"])]),
    "decimal_bool_binary": ipc_stream([pa.record_batch([pa.array([1], pa.decimal128(10, 2)), pa.array([True]), pa.array([b"\x00"], pa.binary())], names=["$1", "$2", "$3"])]),
    "large_utf8_date64": ipc_stream([pa.record_batch([pa.array(["x"], pa.large_string()), pa.array([0], pa.date64())], names=["$1", "$2"])]),
    "many_columns": ipc_stream([pa.record_batch([pa.array([i], pa.int16()) for i in range(8)], names=[f"${i + 1}" for i in range(8)])]),
    "float_nan": ipc_stream([pa.record_batch([pa.array([float("nan")], pa.float64())], names=["$1"])]),
}
for name, data in params.items():
    put("flight_params", name, data)

# ---------------------------------------------------------------- config
configs = {
    "minimal": 'lake = "./data"\n',
    "precedence": 'lake = "/from/file"\npoll_interval = "15s"\nchannels = ["a", "b"]\n',
    "twitch": 'client_id = "abc"\nclient_secret = "def"\nchannels = ["shroud", "pokimane"]\ntop_n = 500\nlanguages = ["de"]\nfull_sweep = false\nmax_pages = 50\n',
    "numbers": 'top_n = 0\nmax_retries = 10\nrequest_timeout = "2s"\nfollower_interval = "1h"\nsession_gap = "10m"\nmaintain_interval = "0s"\nvacuum_retention = "7d"\n',
    "flight": 'flight_addr = "0.0.0.0:50051"\nflight_auth = "bearer"\nflight_tokens = ["0123456789abcdef0123"]\nflight_token_ttl = "12h"\n',
    "flight_basic": "flight_auth = \"basic\"\nflight_users = 'alice:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$u4Wz2vA3eHq9hDsL0nqFhBCVGOmVnxBO8S1UVvkmIt8'\n",
    "flight_tls": 'flight_tls_cert = "/etc/tm/cert.pem"\nflight_tls_key = "/etc/tm/key.pem"\n',
    "query": 'query_timeout = "5m"\nquery_memory_limit = "4GiB"\nmax_concurrent_queries = 16\nquery_queue_timeout = "30s"\n',
    "sim": 'source = "sim"\nsim_seed = 7\nsim_channels = 1000\nsim_speed = 60.5\nsim_start = "2026-03-01T23:50:00Z"\nsim_error_rate = 0.05\nsim_rate_limit = 0\nsim_all_live = true\n',
    "chat": 'chat_addr = "irc://127.0.0.1:6667"\nchat_top_n = 10\nchat_buffer = "64MiB"\n',
    "export": 'export_dir = "s3://bucket/exports"\nexport_formats = ["csv", "parquet"]\nexport_top = 5\nexport_slack_url = "https://hooks.slack.com/services/T/B/X"\n',
    "unknown_key": 'lake = "./data"\nno_such_setting = 1\n',
    "bad_value": 'poll_interval = "0s"\n',
    "table_value": 'lake = { path = "x" }\n',
    "alerts": '''lake = "./data"

[alerts]
max_attempts = 3
request_timeout = "10s"

[[alerts.targets]]
name = "team-slack"
kind = "slack"
url_env = "SLACK_WEBHOOK_URL"

[[alerts.targets]]
name = "ops-hook"
kind = "webhook"
url = "https://ops.example.com/twitch-alerts"
secret = "0123456789abcdef0123"

[[alerts.rules]]
name = "big-drop"
kind = "viewers_drop"
percent = 50
window = "10m"
channels = ["shroud", "pokimane"]
targets = ["ops-hook"]

[[alerts.rules]]
name = "live"
kind = "went_live"
max_uptime = "30m"
''',
    "alerts_every_kind": '''[[alerts.targets]]
name = "d"
kind = "discord"
url = "https://discord.com/api/webhooks/1/x"

[[alerts.rules]]
name = "off"
kind = "went_offline"
grace = "5m"
[[alerts.rules]]
name = "raid"
kind = "viewers_gain"
percent = 100
by = 500
window = "5m"
min_viewers = 50
min_uptime = "10m"
[[alerts.rules]]
name = "follows"
kind = "followers_gain"
by = 5000
window = "1h"
cooldown = "6h"
[[alerts.rules]]
name = "unfollows"
kind = "followers_loss"
percent = 5
[[alerts.rules]]
name = "top"
kind = "top_n"
n = 10
margin = 2
languages = ["de"]
categories = ["Just Chatting"]
[[alerts.rules]]
name = "star"
kind = "rising_star"
max_rank = 5
min_score = 1.5
[[alerts.rules]]
name = "sour"
kind = "chat_sentiment"
below = -0.3
drop = 0.2
min_messages = 5
[[alerts.rules]]
name = "chatty"
kind = "chat_rate"
percent = 200
direction = "up"
[[alerts.rules]]
name = "sql"
kind = "sql"
query = "SELECT user_id, login FROM live.streams WHERE viewer_count > 100000"
key = "user_id"
''',
    "alerts_not_table": 'alerts = 3\n',
    "not_toml": 'lake = \n[[\n',
}
for name, text in configs.items():
    put("config", name, text)

# ---------------------------------------------------------------- irc
PRIVMSG = ("@badge-info=;badges=;color=#0000FF;display-name=JuN1oRRRR;emotes=25:0-4;flags=;"
           "id=e9d998c3-36f1-430f-89ec-6b887c28af36;mod=0;room-id=11148817;subscriber=0;"
           "tmi-sent-ts=1594545155039;turbo=0;user-id=29803735;user-type= "
           ":jun1orrrr!jun1orrrr@jun1orrrr.tmi.twitch.tv PRIVMSG #pajlada :Kappa good KEKW")
lines = {
    "privmsg": PRIVMSG,
    "action": PRIVMSG.replace(":Kappa good KEKW", ":\x01ACTION waves\x01").replace("emotes=25:0-4", "emotes="),
    "cheer": ("@badge-info=subscriber/8;badges=subscriber/6,bits/100;bits=100;color=#FF4500;display-name=Cheerer;"
              "emotes=;id=7f1f1e4c-6a1b-4b52-9f2e-2a1d2f9b7c1e;room-id=11148817;tmi-sent-ts=1594545160000;"
              "user-id=1234;user-type= :cheerer!cheerer@cheerer.tmi.twitch.tv PRIVMSG #pajlada :cheer100 LUL this is great PogChamp"),
    "emotes_unicode": ("@display-name=Émile;emotes=305954156:6-13/25:15-19;id=a1;room-id=1;tmi-sent-ts=1594545161000;user-id=5 "
                       ":emile!emile@emile.tmi.twitch.tv PRIVMSG #chan :héllo PogChamp Kappa 😀 :( terrible"),
    "sub": ("@badge-info=subscriber/0;badges=subscriber/0,premium/1;color=;display-name=Subber;emotes=;id=b2;login=subber;"
            "msg-id=sub;msg-param-cumulative-months=1;msg-param-sub-plan=Prime;room-id=11148817;"
            "system-msg=Subber\\ssubscribed\\swith\\sPrime.;tmi-sent-ts=1594545162000;user-id=77 "
            ":tmi.twitch.tv USERNOTICE #pajlada :Great stream!"),
    "raid": ("@badge-info=;badges=;display-name=Raider;id=c3;login=raider;msg-id=raid;msg-param-viewerCount=1234;"
             "room-id=11148817;tmi-sent-ts=1594545163000;user-id=88 :tmi.twitch.tv USERNOTICE #pajlada"),
    "clearchat": "@ban-duration=600;room-id=11148817;target-user-id=29803735;tmi-sent-ts=1594545164000 :tmi.twitch.tv CLEARCHAT #pajlada :jun1orrrr",
    "clearmsg": "@login=jun1orrrr;room-id=;target-msg-id=e9d998c3-36f1-430f-89ec-6b887c28af36;tmi-sent-ts=1594545165000 :tmi.twitch.tv CLEARMSG #pajlada :Kappa good KEKW",
    "notice": "@msg-id=msg_channel_suspended :tmi.twitch.tv NOTICE #pajlada :This channel does not exist or has been suspended.",
    "server_notice": ":tmi.twitch.tv NOTICE * :Login authentication failed",
    "roomstate": "@emote-only=0;followers-only=-1;r9k=0;room-id=11148817;slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #pajlada",
    "protocol": "PING :tmi.twitch.tv\r\n:tmi.twitch.tv RECONNECT\r\n:tmi.twitch.tv 001 justinfan123 :Welcome, GLHF!\r\n"
                ":justinfan123!justinfan123@justinfan123.tmi.twitch.tv JOIN #pajlada\r\n"
                ":justinfan123!justinfan123@justinfan123.tmi.twitch.tv PART #pajlada\r\n"
                ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands\r\n",
    "session": "\r\n".join([PRIVMSG,
                            PRIVMSG.replace("id=e9d998c3", "id=f0").replace("1594545155039", "1594545215039"),
                            PRIVMSG,  # the same id twice counts once
                            PRIVMSG.replace("id=e9d998c3", "id=f1").replace("1594545155039", "1594631555039")]) + "\r\n",
    "missing_tags": ":jun1orrrr!jun1orrrr@jun1orrrr.tmi.twitch.tv PRIVMSG #pajlada :no tags at all",
    "bad_timestamp": PRIVMSG.replace("tmi-sent-ts=1594545155039", "tmi-sent-ts=-9999999999999999"),
    "bad_emote_range": PRIVMSG.replace("emotes=25:0-4", "emotes=25:10-400"),
    "not_irc": "@@@ :: #weird_channel! garbage",
    "not_utf8": b":a!a@a.tmi.twitch.tv PRIVMSG #c :h\xc3\r\n:b PRIVMSG #c :\xff\xfe\r\n",
    "empty_lines": "\r\n\r\n\n",
}
for name, text in lines.items():
    put("irc", name, text)
