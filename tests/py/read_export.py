"""Checks a `twitch-monitor export` folder against the lake it came from,
with readers that share no code with our writer: each exported file is read
back (Parquet and JSON with pyarrow, CSV with DuckDB) and compared with the
day's rows of the same gold table read by deltalake (delta-rs's Python
reader).

Usage: read_export.py LAKE_DIR DAY_DIR DAY FORMAT

Prints {"<table>": rows} on success; exits 1 with the differences otherwise.
"""
import datetime
import json
import os
import pathlib
import sys

import deltalake
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq


def day_rows(lake, table, day):
    """The Delta table's rows of `day` (the ISO week's for the weekly board)."""
    t = deltalake.DeltaTable(str(lake / "gold" / table)).to_pyarrow_table()
    column = "period_start" if table.startswith("leaderboard") else "day"
    if table == "leaderboard_weekly":
        day = day - datetime.timedelta(days=day.weekday())
    return t.filter(pc.equal(t[column], pa.scalar(day, pa.date32())))


def normal(rows):
    """Rows as sorted JSON texts, values as text (formats differ in types)."""
    def text(v):
        if v is None:
            return None
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, (list, tuple)):
            return [text(x) for x in v]
        return str(v)
    return sorted(json.dumps({k: text(v) for k, v in r.items()}, sort_keys=True) for r in rows)


def read(path, fmt):
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    if fmt == "json":
        if path.stat().st_size == 0:
            return []
        return pajson.read_json(path).to_pylist()
    import duckdb  # only the CSV check needs it

    con = duckdb.connect()
    # Every column as text: the comparison is on values, not inferred types.
    rel = con.sql(f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true)")
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def main():
    lake, folder, day, fmt = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    day = datetime.date.fromisoformat(day)
    seen, bad = {}, []
    for path in sorted(folder.glob(f"*.{fmt}")):
        table = path.stem
        want = day_rows(lake, table, day).to_pylist()
        got = read(path, fmt)
        if fmt != "parquet":
            # Text formats: compare the columns whose text is unambiguous.
            keep = [k for k, v in (want[0] if want else {}).items()
                    if isinstance(v, (str, int)) and not isinstance(v, bool)]
            want = [{k: r[k] for k in keep} for r in want]
            got = [{k: r.get(k) for k in keep} for r in got]
        if normal(got) != normal(want):
            bad.append({"table": table, "file": normal(got)[:3], "lake": normal(want)[:3],
                        "file_rows": len(got), "lake_rows": len(want)})
        seen[table] = len(got)
    if bad or not seen:
        print(json.dumps({"differ": bad, "seen": seen}, indent=1))
        return 1
    print(json.dumps(seen))
    return 0


code = main()
# deltalake's Rust runtime can abort the interpreter's teardown with
# "terminate called without an active exception" (delta-rs#2184), after the
# answer is out: skip the teardown once stdout is flushed.
sys.stdout.flush()
os._exit(code)
