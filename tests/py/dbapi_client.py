"""Drives the server with flightsql-dbapi (Superset's dialect): a query and
its metadata. Usage: dbapi_client.py PORT [USER PASSWORD]"""
import sys

from flightsql import FlightSQLClient, connect

port = int(sys.argv[1])
auth = {"user": sys.argv[2], "password": sys.argv[3]} if len(sys.argv) > 3 else {}


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


client = FlightSQLClient(host="127.0.0.1", port=port, insecure=True, **auth)
conn = connect(client)
cur = conn.cursor()
cur.execute("SELECT rank, login FROM twitch.gold.leaderboard_daily ORDER BY rank")
rows = cur.fetchall()
check([tuple(r) for r in rows] == [(1, "alpha"), (2, "bravo"), (3, "charlie")], f"rows: {rows}")
check([d[0] for d in cur.description] == ["rank", "login"], f"description: {cur.description}")
check({"gold", "live"} <= set(conn.flightsql_get_schema_names()), "schema names")
check("leaderboard_daily" in conn.flightsql_get_table_names(schema="gold"), "table names")
columns = [c["name"] for c in conn.flightsql_get_columns("leaderboard_daily", schema="gold")]
check("login" in columns, f"columns: {columns}")
info = conn.flightsql_get_sql_info([0, 3])
check(info.get(0) == "twitch-monitor" and info.get(3) is True, f"sql info: {info}")
conn.close()
print("DBAPI OK")
