"""A minimal pyarrow.flight server streaming the benchmark table, as the
baseline for the Flight SQL DoGet throughput benchmark.

Usage: bench_server.py ROWS. Prints the port it listens on, then serves
every DoGet with the whole table until stdin closes."""
import sys
import threading

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight

rows = int(sys.argv[1])


def make_table(n):
    ids = pa.array(range(n), type=pa.int64())
    half = pc.multiply(ids.cast(pa.float64()), 0.5)
    login = pc.binary_join_element_wise("user_", pc.cast(ids, pa.string()), "")
    return pa.table({"id": ids, "half": half, "login": login})


class Server(flight.FlightServerBase):
    def __init__(self, table):
        super().__init__("grpc://127.0.0.1:0")
        self.table = table

    def do_get(self, context, ticket):
        return flight.RecordBatchStream(self.table)


# The same 8192-row batches DataFusion streams.
table = pa.Table.from_batches(make_table(rows).combine_chunks().to_batches(max_chunksize=8192))
server = Server(table)
print(server.port, flush=True)
threading.Thread(target=server.serve, daemon=True).start()
sys.stdin.read()
server.shutdown()
