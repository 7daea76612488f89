"""Drives the Flight SQL server with the ADBC Flight SQL driver (Python dbapi).

Usage: adbc_client.py PORT SCRATCH_DIR [USER PASSWORD]
Exits non-zero with a message on the first failed check; prints one line per
passed check so the Rust test can show progress.
"""
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa

port, scratch = sys.argv[1], sys.argv[2]
db_kwargs = {}
if len(sys.argv) > 4:
    db_kwargs = {"username": sys.argv[3], "password": sys.argv[4]}


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


conn = flight_sql.connect(f"grpc://127.0.0.1:{port}", db_kwargs=db_kwargs, autocommit=True)
cur = conn.cursor()

# Plain query; strings arrive as Utf8, never Utf8View.
cur.execute("SELECT rank, login, value FROM twitch.gold.leaderboard_daily ORDER BY rank")
table = cur.fetch_arrow_table()
check(table.num_rows == 3, "query returns every row")
check(table.column("login").to_pylist() == ["alpha", "bravo", "charlie"], "rows in order")
check(table.schema.field("login").type == pa.string(), f"login is utf8: {table.schema}")

# Parameters, both placeholder styles.
cur.execute(
    "SELECT login FROM twitch.gold.leaderboard_daily WHERE rank <= ? ORDER BY rank",
    parameters=(2,),
)
check(cur.fetch_arrow_table().column("login").to_pylist() == ["alpha", "bravo"], "? parameter")
cur.execute(
    "SELECT login FROM twitch.gold.leaderboard_daily WHERE login = $1 AND rank = $2",
    parameters=("charlie", 3),
)
check(cur.fetchall() == [("charlie",)], "$n parameters")

# Metadata at every depth.
for depth in ["catalogs", "db_schemas", "tables", "columns", "all"]:
    objects = conn.adbc_get_objects(depth=depth).read_all().to_pylist()
    catalogs = {c["catalog_name"]: c for c in objects}
    check("twitch" in catalogs, f"get_objects({depth}) lists the catalog")
    if depth == "catalogs":
        continue
    schemas = {s["db_schema_name"]: s for s in catalogs["twitch"]["catalog_db_schemas"]}
    check({"bronze", "silver", "gold", "live"} <= set(schemas), f"get_objects({depth}) schemas")
    if depth == "db_schemas":
        continue
    tables = {t["table_name"]: t for t in schemas["gold"]["db_schema_tables"]}
    check("leaderboard_daily" in tables, f"get_objects({depth}) tables")
    if depth in ("columns", "all"):
        columns = [c["column_name"] for c in tables["leaderboard_daily"]["table_columns"]]
        check(columns[:3] == ["period_start", "metric", "rank"], f"get_objects({depth}) columns: {columns}")

filtered = conn.adbc_get_objects(
    depth="tables", catalog_filter="twitch", db_schema_filter="go%", table_name_filter="leader%"
).read_all().to_pylist()
names = [t["table_name"] for s in filtered[0]["catalog_db_schemas"] for t in s["db_schema_tables"]]
check(names == ["leaderboard_daily"], f"LIKE filters: {names}")

schema = conn.adbc_get_table_schema("leaderboard_daily", catalog_filter="twitch", db_schema_filter="gold")
check(schema.field("login").type == pa.string(), f"table schema: {schema}")
check(set(conn.adbc_get_table_types()) == {"TABLE", "VIEW"}, "table types")

info = conn.adbc_get_info()
check(info.get("vendor_name") == "twitch-monitor", f"get_info vendor: {info}")

# Bad SQL: the engine's message comes back.
try:
    cur.execute("SELEC 1")
    check(False, "bad SQL raises")
except adbc_driver_manager.Error as e:
    check("SELEC" in str(e), f"bad SQL message carries the engine's text: {e}")
    check(e.status_code == adbc_driver_manager.AdbcStatusCode.INVALID_ARGUMENT, f"bad SQL is INVALID_ARGUMENT: {e.status_code}")

try:
    cur.execute("SELECT * FROM twitch.gold.nope")
    check(False, "missing table raises")
except adbc_driver_manager.Error as e:
    check(e.status_code == adbc_driver_manager.AdbcStatusCode.NOT_FOUND, f"missing table is NOT_FOUND: {e.status_code} {e}")

# Everything that writes or reads server files is refused.
refused = [
    "CREATE TABLE gold.t (a INT)",
    "INSERT INTO gold.leaderboard_daily (rank) VALUES (9)",
    f"COPY (SELECT 1) TO '{scratch}/copy.csv'",
    f"CREATE EXTERNAL TABLE pw STORED AS CSV LOCATION '/etc/passwd'",
    "DROP TABLE gold.leaderboard_daily",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_csv('/etc/passwd')",
]
for sql in refused:
    try:
        cur.execute(sql)
        cur.fetchall()
        check(False, f"refused: {sql}")
    except adbc_driver_manager.Error as e:
        check(
            e.status_code == adbc_driver_manager.AdbcStatusCode.UNAUTHORIZED,
            f"refused with a permission error: {sql} -> {e.status_code} {e}",
        )

try:
    cur.adbc_ingest("ingested", pa.table({"a": [1]}), mode="create")
    check(False, "ingest refused")
except adbc_driver_manager.Error as e:
    check(e.status_code == adbc_driver_manager.AdbcStatusCode.UNAUTHORIZED, f"ingest refused: {e}")

cur.close()
conn.close()
print("ADBC OK")
