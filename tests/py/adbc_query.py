"""Runs one SQL query through the ADBC Flight SQL driver and prints the
result as JSON lines (one object per row), for Rust tests to check.

Usage: adbc_query.py PORT SQL
"""
import json
import sys

import adbc_driver_flightsql.dbapi as flight_sql

port, sql = sys.argv[1], sys.argv[2]
with flight_sql.connect(f"grpc://127.0.0.1:{port}", autocommit=True) as conn:
    cur = conn.cursor()
    cur.execute(sql)
    for row in cur.fetch_arrow_table().to_pylist():
        print(json.dumps(row, default=str))
