"""SELECT 1 round trips through ADBC's Flight SQL driver: the per-query
overhead a BI tool or dashboard pays. Used by `cargo bench --bench flight`.

Usage: select1_latency.py URI [QUERIES]
"""
import statistics
import sys
import time
import warnings

import adbc_driver_flightsql.dbapi as flight_sql

uri = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
warnings.simplefilter("ignore")  # autocommit cannot be turned off: read-only server
with flight_sql.connect(uri) as conn, conn.cursor() as cur:
    times = []
    for i in range(n + 20):
        start = time.perf_counter()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        if i >= 20:  # the first ones warm the connection up
            times.append(time.perf_counter() - start)
times.sort()
print(
    f"flight/select1: ADBC (Python) {n} queries, p50 {statistics.median(times) * 1e3:.2f} ms, "
    f"p99 {times[int(n * 0.99)] * 1e3:.2f} ms (goal p50 <= 1 ms)"
)
