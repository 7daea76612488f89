"""Query benchmark (issue 16): analyst queries through the running server
(ADBC's Flight SQL driver, results as Arrow) against DuckDB with its delta
extension reading the same Delta tables in-process — what an analyst would
pick instead. Prints, per query, the rows returned, the median time of each
and their ratio (> 1: the server is slower), and whether the results are
equal; exits non-zero when one is not.

DuckDB runs twice over: as `delta_scan` views, which read each table's Delta
log again on every query (so every answer is of the table's newest
version, as the server's are), and attached with `PIN_SNAPSHOT`, which
reads each log once and then answers from that version for good (faster;
right for a lake that no longer changes, stale for one being written).

Usage: query_bench.py --port FLIGHT_PORT --lake LAKE_DIR [--label TEXT]
                      [--repeats 15]

Run through scripts/query-bench, which builds the lake and starts the server.
"""
import argparse
import datetime
import math
import pathlib
import statistics
import sys
import time
import warnings

import adbc_driver_flightsql.dbapi as flight_sql
import deltalake
import pyarrow as pa
import pyarrow.compute as pc

from read_tables import duckdb_connection


def queries(day, login, user_id):
    """(name, SQL, repeats factor): one text for both engines."""
    d = f"DATE '{day}'"
    return [
        (
            "daily leaderboard (time-weighted, silver)",
            "SELECT user_id, max(user_login) AS login, "
            "sum(viewer_count * interval_seconds) / 3600.0 AS hours_watched, "
            "sum(viewer_count * interval_seconds) / sum(interval_seconds) AS avg_viewers "
            f"FROM silver.stream_snapshots WHERE observed_date = {d} "
            "GROUP BY user_id ORDER BY hours_watched DESC, user_id LIMIT 100",
        ),
        (
            "hours watched per category per day",
            "SELECT observed_date, game_name, "
            "sum(viewer_count * interval_seconds) / 3600.0 AS hours_watched "
            "FROM silver.stream_snapshots GROUP BY observed_date, game_name "
            "ORDER BY observed_date, hours_watched DESC, game_name",
        ),
        (
            "one streamer's minute series for a day",
            "SELECT observed_at, viewer_count, game_name FROM silver.stream_snapshots "
            f"WHERE user_login = '{login}' AND observed_date = {d} ORDER BY observed_at, game_name",
        ),
        (
            "the same series by user_id",
            "SELECT observed_at, viewer_count, game_name FROM silver.stream_snapshots "
            f"WHERE user_id = '{user_id}' AND observed_date = {d} ORDER BY observed_at, game_name",
        ),
        (
            "distinct channels per hour",
            "SELECT date_trunc('hour', observed_at) AS hour, count(DISTINCT user_id) AS channels "
            "FROM silver.stream_snapshots GROUP BY 1 ORDER BY 1",
        ),
        (
            "gold top 10 of a day",
            "SELECT rank, login, value FROM gold.leaderboard_daily "
            f"WHERE period_start = {d} AND metric = 'hours_watched' ORDER BY rank LIMIT 10",
        ),
        (
            "gold one streamer's days",
            "SELECT day, minutes_streamed, avg_viewers, peak_viewers, hours_watched "
            f"FROM gold.streamer_daily WHERE login = '{login}' ORDER BY day",
        ),
        (
            "gold top categories of a day",
            "SELECT game_name, hours_watched, channels FROM gold.category_daily "
            f"WHERE day = {d} ORDER BY hours_watched DESC, game_name LIMIT 20",
        ),
        ("SELECT * FROM silver.stream_snapshots", "SELECT * FROM silver.stream_snapshots"),
    ]


def norm(v):
    """A value both engines' answers can be compared on."""
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return v.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    return v


def fingerprint(t: pa.Table):
    """Order-free summary of a large answer: rows, and per numeric column its sum."""
    out = [t.num_rows]
    for col in t.columns:
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            s = pc.sum(col).as_py()
            out.append(float(s) if s is not None else None)
    return [out]


def answer_rows(t: pa.Table, big: bool):
    """The answer as rows, sorted on their exact (non-float) values: float
    sums differ in the last bits between engines (summation order), which
    may also swap rows that tie."""
    if big:
        return fingerprint(t)
    out = [tuple(norm(v) for v in row.values()) for row in t.to_pylist()]
    return sorted(out, key=lambda r: tuple(repr(v) for v in r if not isinstance(v, float)))


def same(a, b):
    """Equal, floats within a relative 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lake", required=True)
    ap.add_argument("--label", default="")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # autocommit cannot be turned off: read-only server

    duck, pinned = duckdb_connection(), duckdb_connection()
    for log in sorted(pathlib.Path(args.lake).glob("*/*/_delta_log")):
        table = log.parent
        schema = table.parent.name
        alias = f"{schema}__{table.name}"
        for con in (duck, pinned):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        duck.execute(
            f"CREATE OR REPLACE VIEW {schema}.{table.name} AS SELECT * FROM delta_scan('{table}')"
        )
        pinned.execute(f"ATTACH '{table}' AS {alias} (TYPE delta, PIN_SNAPSHOT)")
        pinned.execute(f"CREATE OR REPLACE VIEW {schema}.{table.name} AS SELECT * FROM {alias}")
    day, rows = duck.execute(
        "SELECT observed_date, count(*) FROM silver.stream_snapshots "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    (login, user_id) = duck.execute(
        "SELECT user_login, min(user_id) FROM silver.stream_snapshots WHERE observed_date = ? "
        "GROUP BY user_login ORDER BY sum(viewer_count * interval_seconds) DESC, user_login LIMIT 1",
        [day],
    ).fetchone()
    files = len(deltalake.DeltaTable(f"{args.lake}/silver/stream_snapshots").file_uris())
    print(
        f"query bench{(' (' + args.label + ')') if args.label else ''}: "
        f"silver.stream_snapshots in {files} files, {rows} rows on {day} (the busiest day); "
        f"streamer {login}; median of {args.repeats} runs each, interleaved"
    )
    print(
        f"{'query':44} {'rows':>8} {'server ms':>10} {'duckdb ms':>10} {'ratio':>6} "
        f"{'pinned ms':>10} {'ratio':>6}  equal"
    )

    conn = flight_sql.connect(f"grpc://127.0.0.1:{args.port}", autocommit=True)
    cur = conn.cursor()

    def server(sql):
        cur.execute(sql)
        return cur.fetch_arrow_table()

    def duckdb(sql):
        return duck.execute(sql).fetch_arrow_table()

    def duckdb_pinned(sql):
        return pinned.execute(sql).fetch_arrow_table()

    engines = (("server", server), ("duckdb", duckdb), ("pinned", duckdb_pinned))
    worst, worst_pinned, unequal = 0.0, 0.0, []
    for name, sql in queries(day, login, user_id):
        big = sql.startswith("SELECT * ")
        repeats = max(3, args.repeats // 3) if big else args.repeats
        got = {e: run(sql) for e, run in engines}  # warm-up, and the answers
        ours = answer_rows(got["server"], big)
        equal = all(same(ours, answer_rows(got[e], big)) for e in ("duckdb", "pinned"))
        if not equal:
            unequal.append(name)
        times = {e: [] for e, _ in engines}
        for _ in range(repeats):
            for engine, run in engines:
                start = time.perf_counter()
                run(sql)
                times[engine].append(time.perf_counter() - start)
        s, d, p = (statistics.median(times[e]) * 1e3 for e, _ in engines)
        worst, worst_pinned = max(worst, s / d), max(worst_pinned, s / p)
        print(
            f"{name:44} {got['server'].num_rows:>8} {s:>10.2f} {d:>10.2f} {s / d:>6.2f} "
            f"{p:>10.2f} {s / p:>6.2f}  {'yes' if equal else 'NO'}"
        )
    cur.close()
    conn.close()
    print(
        f"worst ratio {worst:.2f} (goal <= 1.0), {worst_pinned:.2f} against pinned snapshots; "
        f"results equal: {'all' if not unequal else 'NOT ' + ', '.join(unequal)}"
    )
    if unequal:
        for name, sql in queries(day, login, user_id):
            if name in unequal:
                print(f"  differs: {sql}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
