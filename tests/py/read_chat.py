"""Reads the chat tables of a twitch-monitor lake with DuckDB (its delta
extension, delta-kernel-rs) and polars, and prints what each saw as JSON.

Usage: read_chat.py LAKE_DIR

Prints {"duckdb": {...}, "polars": {...}}, each with chat_minutes_rows,
chat_minutes_messages (sum of silver.chat_minutes.messages),
chat_daily_messages (sum of gold.chat_daily.messages) and bronze_messages
(distinct message ids of bronze.chat_messages).
"""
import json
import os
import pathlib
import sys

import polars as pl

from read_tables import duckdb_connection


def main():
    lake = pathlib.Path(sys.argv[1])
    minutes = str(lake / "silver" / "chat_minutes")
    daily = str(lake / "gold" / "chat_daily")
    bronze = str(lake / "bronze" / "chat_messages")
    con = duckdb_connection()
    one = lambda sql: con.execute(sql).fetchone()[0]
    out = {
        "duckdb": {
            "chat_minutes_rows": one(f"SELECT count(*) FROM delta_scan('{minutes}')"),
            "chat_minutes_messages": one(f"SELECT sum(messages) FROM delta_scan('{minutes}')"),
            "chat_daily_messages": one(f"SELECT sum(messages) FROM delta_scan('{daily}')"),
            "bronze_messages": one(
                f"SELECT count(DISTINCT message_id) FROM delta_scan('{bronze}') WHERE kind = 'message'"
            ),
        },
        "polars": {
            "chat_minutes_rows": pl.scan_delta(minutes).select(pl.len()).collect().item(),
            "chat_minutes_messages": pl.scan_delta(minutes).select(pl.col("messages").sum()).collect().item(),
            "chat_daily_messages": pl.scan_delta(daily).select(pl.col("messages").sum()).collect().item(),
            "bronze_messages": pl.scan_delta(bronze)
            .filter(pl.col("kind") == "message")
            .select(pl.col("message_id").n_unique())
            .collect()
            .item(),
        },
    }
    # Every emote list reads back as a list of strings.
    emotes = pl.scan_delta(minutes).select("top_emotes").collect()["top_emotes"]
    assert emotes.dtype == pl.List(pl.String), emotes.dtype
    print(json.dumps(out))


if __name__ == "__main__":
    main()
    # As in read_tables.py: skip the teardown deltalake can abort.
    sys.stdout.flush()
    os._exit(0)
