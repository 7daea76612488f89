"""Drives the server with bare pyarrow.flight (no Flight SQL client): plain
SQL as a command and as a ticket, and a hand-packed CommandStatementQuery.
Usage: pyarrow_client.py PORT [TOKEN]"""
import sys

import pyarrow as pa
import pyarrow.flight as flight

port = sys.argv[1]
options = flight.FlightCallOptions()
if len(sys.argv) > 2:
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {sys.argv[2]}".encode())])

SQL = "SELECT rank, login FROM twitch.gold.leaderboard_daily ORDER BY rank"


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def any_command(type_name, body):
    url = f"type.googleapis.com/arrow.flight.protocol.sql.{type_name}".encode()
    return field(1, url) + field(2, body)


def fetch(info):
    check(len(info.endpoints) == 1, "one endpoint")
    check(len(info.endpoints[0].locations) == 0, "no locations: reuse the connection")
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    check(table.schema.equals(info.schema), f"FlightInfo schema is the stream's: {info.schema}")
    return table


client = flight.FlightClient(f"grpc://127.0.0.1:{port}")

table = fetch(client.get_flight_info(flight.FlightDescriptor.for_command(SQL.encode()), options))
check(table.column("login").to_pylist() == ["alpha", "bravo", "charlie"], "plain SQL command")
check(table.schema.field("login").type == pa.string(), "utf8, not utf8_view")

cmd = any_command("CommandStatementQuery", field(1, SQL.encode()))
table = fetch(client.get_flight_info(flight.FlightDescriptor.for_command(cmd), options))
check(table.num_rows == 3, "Any-packed CommandStatementQuery")

table = client.do_get(flight.Ticket(b"SELECT 40 + 2 AS answer"), options).read_all()
check(table.column("answer").to_pylist() == [42], "plain SQL ticket")

try:
    client.do_get(flight.Ticket(b"DROP TABLE gold.leaderboard_daily"), options).read_all()
    check(False, "DROP refused")
except flight.FlightUnauthorizedError as e:
    check("read-only" in str(e), f"DROP refused as unauthorized: {e}")

try:
    client.do_get(flight.Ticket(b"SELECT * FROM gold.nope"), options).read_all()
    check(False, "missing table")
except Exception as e:  # pyarrow maps NOT_FOUND to a KeyError-like type
    check("not found" in str(e), f"missing table: {e}")
print("PYARROW OK")
