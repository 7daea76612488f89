"""Reads every Delta table of a twitch-monitor lake with engines that are not
our writer, and prints what each saw as JSON on stdout.

Usage: read_tables.py LAKE_DIR

For each <layer>/<table> under LAKE_DIR that has a _delta_log, prints
  {"<layer>.<table>": {"duckdb": rows, "polars": rows, "deltalake": rows,
                       "protocol": [reader, writer], "partition_columns": [...],
                       "configuration": {...}, "columns": [...]}}
duckdb's delta extension (delta-kernel-rs) is the reader that shares no code
with delta-rs; deltalake (delta-rs) reports the protocol and metadata.
Any reader failure is reported as {"error": "..."} for that reader, so the
caller sees which engine failed on which table.
"""
import json
import os
import pathlib
import sys

import deltalake
import duckdb
import duckdb_extension_delta
import polars as pl


def duckdb_connection():
    ext = (
        pathlib.Path(duckdb_extension_delta.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "delta.duckdb_extension"
    )
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")
    return con


def attempt(f):
    try:
        return f()
    except Exception as e:  # report, never hide: the caller asserts on it
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    lake = pathlib.Path(sys.argv[1])
    con = duckdb_connection()
    out = {}
    for log in sorted(lake.glob("*/*/_delta_log")):
        table = log.parent
        name = f"{table.parent.name}.{table.name}"
        path = str(table)
        dt = deltalake.DeltaTable(path)
        protocol = dt.protocol()
        meta = dt.metadata()
        out[name] = {
            "duckdb": attempt(
                lambda: con.execute(f"SELECT count(*) FROM delta_scan('{path}')").fetchone()[0]
            ),
            "polars": attempt(lambda: pl.scan_delta(path).select(pl.len()).collect().item()),
            "deltalake": attempt(lambda: dt.to_pyarrow_dataset().count_rows()),
            "protocol": [protocol.min_reader_version, protocol.min_writer_version],
            "reader_features": protocol.reader_features,
            "writer_features": protocol.writer_features,
            "partition_columns": meta.partition_columns,
            "configuration": meta.configuration,
            "columns": [f.name for f in dt.schema().fields],
        }
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
    # deltalake's Rust runtime can abort the interpreter's teardown with
    # "terminate called without an active exception" (delta-rs#2184), after
    # the answer is out: skip the teardown once stdout is flushed.
    sys.stdout.flush()
    os._exit(0)
