"""Independent check of a twitch-monitor lake after a kill storm, with DuckDB's
delta extension (delta-kernel-rs: no code shared with our writer, delta-rs).

Usage: check_lake.py LAKE_DIR [REBUILT_DIR]

Checks:
- every Delta table under LAKE_DIR reads, and says how many rows it has;
- no (stream_id, cycle_id) twice in silver.stream_snapshots, no bronze page
  twice, no profile with two current versions;
- every bronze page is accounted for: each stream of each well-formed
  `streams` page is in silver.stream_snapshots under the page's cycle, and
  each cycle's pages of one request are numbered 0, 1, 2, ... without a gap;
- with REBUILT_DIR (a copy of the lake after `twitch-monitor rebuild`): every
  derived table (silver, and gold but its state tables) holds exactly the
  rows of the rebuilt one, as multisets (same row count and sum of row
  hashes; where those differ, EXCEPT ALL counts and shows the rows).

Prints {"tables": {...}, "failures": [...]} as JSON; exits 1 on any failure.
"""
import json
import os
import pathlib
import sys

from read_tables import duckdb_connection

# Written by what the service did, not derived from bronze: rebuild leaves them.
STATE_TABLES = {"gold.alerts", "gold.exports"}


def tables(lake):
    return {
        f"{log.parent.parent.name}.{log.parent.name}": str(log.parent)
        for log in sorted(lake.glob("*/*/_delta_log"))
    }


def scalar(con, sql):
    return con.execute(sql).fetchone()[0]


def duplicates(con, paths):
    checks = [
        ("silver.stream_snapshots", "stream_id, cycle_id"),
        ("silver.follower_snapshots", "user_id, cycle_id"),
        ("silver.stream_sessions", "session_id"),
    ]
    for table, key in checks:
        n = scalar(
            con,
            f"SELECT count(*) FROM (SELECT {key} FROM delta_scan('{paths[table]}') "
            f"GROUP BY ALL HAVING count(*) > 1)",
        )
        if n:
            yield f"{table}: {n} keys ({key}) twice"
    # Bronze: two attempts at a page can be identical rows (same status,
    # body and instant on a manual clock), so a doubled commit shows as a
    # cycle whose every row is there twice.
    n = scalar(
        con,
        f"SELECT count(*) FROM (SELECT cycle_id FROM (SELECT cycle_id, count(*) AS c "
        f"FROM delta_scan('{paths['bronze.helix_responses']}') GROUP BY cycle_id, endpoint, "
        f"request_query, page, fetched_at, http_status, md5(payload)) GROUP BY 1 HAVING min(c) > 1)",
    )
    if n:
        yield f"bronze.helix_responses: {n} cycles whose every response is there twice"
    n = scalar(
        con,
        f"SELECT count(*) FROM (SELECT user_id FROM delta_scan('{paths['silver.streamers']}') "
        "WHERE is_current GROUP BY 1 HAVING count(*) > 1)",
    )
    if n:
        yield f"silver.streamers: {n} profiles with two current versions"


# Cycles whose bronze pages are matched against silver in one go.
CYCLES_AT_ONCE = 100


def bronze_accounted(con, paths):
    bronze, snapshots = paths["bronze.helix_responses"], paths["silver.stream_snapshots"]
    # Pages of one request within a cycle: 0..n-1, none missing. Page k > 0
    # was asked for with the cursor of page k-1 (`after=`), so the pages of
    # one request share their query without it.
    gaps = con.execute(
        f"SELECT cycle_id, endpoint, regexp_replace(request_query, '&?after=[^&]*', '') AS q, "
        f"count(DISTINCT page), max(page) "
        f"FROM delta_scan('{bronze}') GROUP BY 1, 2, 3 "
        f"HAVING count(DISTINCT page) <> max(page) + 1 LIMIT 5"
    ).fetchall()
    for g in gaps:
        yield f"bronze.helix_responses: pages missing in {g}"
    missing, checked = [], 0
    lo, hi = con.execute(f"SELECT min(cycle_id), max(cycle_id) FROM delta_scan('{bronze}')").fetchone()
    # A hundred cycles at a time: a day at scale is tens of millions of
    # stream keys and gigabytes of pages, more than memory holds at once.
    for start in range(lo, hi + 1, CYCLES_AT_ONCE) if lo is not None else ():
        cycles = f"cycle_id >= {start} AND cycle_id < {start + CYCLES_AT_ONCE}"
        seen = set(
            con.execute(
                f"SELECT DISTINCT stream_id, cycle_id FROM delta_scan('{snapshots}') WHERE {cycles}"
            ).fetchall()
        )
        pages = con.execute(
            f"SELECT cycle_id, page, payload FROM delta_scan('{bronze}') "
            f"WHERE endpoint = 'streams' AND http_status = 200 AND {cycles}"
        )
        while rows := pages.fetchmany(1000):
            for cycle, page, payload in rows:
                try:
                    data = json.loads(payload)["data"]
                    ids = [str(s["id"]) for s in data]
                except (ValueError, KeyError, TypeError):
                    continue  # a malformed page: kept in bronze, nothing to derive
                for stream in ids:
                    checked += 1
                    if (stream, cycle) not in seen:
                        missing.append((cycle, page, stream))
    if missing:
        yield f"{len(missing)} streams of bronze pages not in silver, e.g. {missing[:3]}"
    if checked == 0:
        yield "no stream in any bronze page: nothing was checked"


def fingerprint(con, scan):
    """Rows and the sum of the rows' hashes: equal for equal multisets, and
    (but for a 64-bit hash collision) different otherwise. A streaming
    aggregate, where EXCEPT ALL hashes every row of a side: at a day of
    220,000 channels (33 million snapshot rows) that took DuckDB past 20 GB.
    A differing fingerprint is looked into with EXCEPT ALL below."""
    return con.execute(f"SELECT count(*), sum(hash(t)) FROM {scan} AS t").fetchone()


def equal_to_rebuild(con, paths, rebuilt):
    again = tables(rebuilt)
    for name, path in paths.items():
        if name.startswith("bronze.") or name in STATE_TABLES:
            continue
        if name not in again:
            yield f"{name}: missing from the rebuilt lake"
            continue
        a, b = f"delta_scan('{path}')", f"delta_scan('{again[name]}')"
        if fingerprint(con, a) == fingerprint(con, b):
            continue
        only_lake = scalar(con, f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})")
        only_rebuilt = scalar(con, f"SELECT count(*) FROM (FROM {b} EXCEPT ALL FROM {a})")
        if only_lake or only_rebuilt:
            # One row of each side, to show which column differs.
            # (as text: DuckDB's Python needs pytz to hand over timestamps with a zone)
            first = lambda x, y: con.execute(
                f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (FROM {x} EXCEPT ALL FROM {y}) LIMIT 1"
            ).fetchone()
            yield (
                f"{name}: {only_lake} rows only in the lake, {only_rebuilt} only in the rebuild"
                f" (e.g. lake {first(a, b)}, rebuild {first(b, a)})"
            )


def main():
    lake = pathlib.Path(sys.argv[1])
    rebuilt = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None
    con = duckdb_connection()
    paths = tables(lake)
    counts, failures = {}, []
    for name, path in paths.items():
        try:
            counts[name] = scalar(con, f"SELECT count(*) FROM delta_scan('{path}')")
        except Exception as e:  # reported, and the check fails
            failures.append(f"{name}: DuckDB cannot read it: {type(e).__name__}: {e}")
    if not failures:
        failures += duplicates(con, paths)
        failures += bronze_accounted(con, paths)
        if rebuilt is not None:
            failures += equal_to_rebuild(con, paths, rebuilt)
    print(json.dumps({"tables": counts, "failures": failures}, indent=1, sort_keys=True))
    return 1 if failures else 0


if __name__ == "__main__":
    code = main()
    # As in read_tables.py: skip the teardown deltalake can abort.
    sys.stdout.flush()
    os._exit(code)
