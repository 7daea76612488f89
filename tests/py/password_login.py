"""Password hashes and logins with implementations independent of the server.

Usage:
  password_login.py hash PASSWORD          prints an Argon2id PHC string made by argon2-cffi
  password_login.py verify PHC PASSWORD    exits non-zero unless argon2-cffi accepts it
  password_login.py login PORT USER PASSWORD
      logs in over Flight SQL with the ADBC driver (Basic handshake) and runs
      one query; prints "LOGIN OK" or "LOGIN REFUSED: <status>".
"""
import sys

import argon2


def main() -> None:
    command = sys.argv[1]
    if command == "hash":
        print(argon2.PasswordHasher().hash(sys.argv[2]))
    elif command == "verify":
        argon2.PasswordHasher().verify(sys.argv[2], sys.argv[3])
        print("VERIFIED")
    elif command == "login":
        import adbc_driver_flightsql.dbapi as flight_sql
        import adbc_driver_manager

        port, user, password = sys.argv[2:5]
        try:
            conn = flight_sql.connect(
                f"grpc://127.0.0.1:{port}",
                db_kwargs={"username": user, "password": password},
                autocommit=True,
            )
            cur = conn.cursor()
            cur.execute("SELECT count(*) AS n FROM twitch.gold.leaderboard_daily")
            rows = cur.fetchall()
            conn.close()
            print(f"LOGIN OK {rows}")
        except adbc_driver_manager.Error as e:
            print(f"LOGIN REFUSED: {e}")
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
