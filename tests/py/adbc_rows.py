"""Streams one query through the ADBC Flight SQL driver batch by batch and
prints its row count and rows/s (the ADBC figure beside the JVM benchmark).

Usage: adbc_rows.py PORT SQL
"""
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql

port, sql = sys.argv[1], sys.argv[2]
with flight_sql.connect(f"grpc://127.0.0.1:{port}", autocommit=True) as conn:
    cur = conn.cursor()
    start = time.perf_counter()
    cur.execute(sql)
    rows = 0
    for batch in cur.fetch_record_batch():
        rows += batch.num_rows
    secs = time.perf_counter() - start
print(f"{rows} {secs:.3f}")
