"""SELECT 1 round trips through ADBC's Flight SQL driver: the per-query
overhead a BI tool or dashboard pays. Used by `cargo bench --bench flight`.

Also measures the same loop against a minimal pyarrow.flight server that
answers every statement with one precomputed row without reading it (no
SQL, no planning; its handlers are Python): what a server built on
pyarrow.flight pays for the transport alone.

Usage: select1_latency.py URI [QUERIES]
"""
import statistics
import sys
import threading
import time
import warnings

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.flight as flight

ONE = pa.table({"Int64(1)": pa.array([1], pa.int64())})
# What the driver asks once per connection (CommandGetSqlInfo): no info.
_INFO_VALUES = [
    ("string_value", pa.utf8()),
    ("bool_value", pa.bool_()),
    ("bigint_value", pa.int64()),
    ("int32_bitmask", pa.int32()),
    ("string_list", pa.list_(pa.utf8())),
    ("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
]
SQL_INFO = pa.table(
    {
        "info_name": pa.array([], pa.uint32()),
        "value": pa.UnionArray.from_dense(
            pa.array([], pa.int8()),
            pa.array([], pa.int32()),
            [pa.array([], t) for _, t in _INFO_VALUES],
            [n for n, _ in _INFO_VALUES],
        ),
    }
)


class Floor(flight.FlightServerBase):
    """GetFlightInfo of any statement: one endpoint; DoGet: the one row."""

    def get_flight_info(self, context, descriptor):
        info = b"CommandGetSqlInfo" in descriptor.command
        table = SQL_INFO if info else ONE
        endpoint = flight.FlightEndpoint(b"info" if info else b"one", [])
        return flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def do_get(self, context, ticket):
        return flight.RecordBatchStream(SQL_INFO if ticket.ticket == b"info" else ONE)


def measure(uri, n):
    with flight_sql.connect(uri) as conn, conn.cursor() as cur:
        times = []
        for i in range(n + 20):
            start = time.perf_counter()
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
            if i >= 20:  # the first ones warm the connection up
                times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e3, times[int(n * 0.99)] * 1e3


uri = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
warnings.simplefilter("ignore")  # autocommit cannot be turned off: read-only server
p50, p99 = measure(uri, n)
print(
    f"flight/select1: ADBC (Python) {n} queries, p50 {p50:.2f} ms, "
    f"p99 {p99:.2f} ms (goal p50 <= 1 ms)"
)
floor = Floor("grpc://127.0.0.1:0")
threading.Thread(target=floor.serve, daemon=True).start()
f50, f99 = measure(f"grpc://127.0.0.1:{floor.port}", n)
floor.shutdown()
print(
    f"flight/select1: the same ADBC loop against a minimal pyarrow.flight server that "
    f"answers without SQL: p50 {f50:.2f} ms, p99 {f99:.2f} ms; "
    f"ours {p50 / f50:.2f}x that"
)
