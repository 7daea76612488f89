"""Load test (issue 17): concurrent Flight SQL clients (ADBC, one connection
each) against a running `twitch-monitor serve`, mixing the kinds of query a
BI tool and a dashboard send, while ingest runs. Prints throughput, p50/p99
latency and errors per kind, the ingest cycle times logged before and during
the load, and the server's RSS (sampled every second).

Usage: load.py --port FLIGHT_PORT --pid SERVER_PID --log SERVER_LOG
               [--clients 64] [--seconds 600] [--poll-interval 60]

Run through scripts/load, which starts the server.
"""
import argparse
import random
import re
import statistics
import threading
import time

import adbc_driver_flightsql.dbapi as flight_sql

# (kind, weight): how often each kind is picked.
KINDS = [
    ("live lookup", 30),      # one channel from live.streams, bound parameter
    ("leaderboard", 15),      # live.leaderboard, what a dashboard polls
    ("gold query", 20),       # aggregates over gold tables
    ("metadata", 10),         # GetObjects (catalog/schema/table/column tree)
    ("prepared", 15),         # one prepared statement executed again and again
    ("large scan", 10),       # 100,000 rows of silver.stream_snapshots
]

GOLD = [
    "SELECT day, count(*), sum(hours_watched) FROM gold.streamer_daily GROUP BY day ORDER BY day",
    "SELECT * FROM gold.leaderboard_daily WHERE metric = 'hours_watched' ORDER BY period_start DESC, rank LIMIT 100",
    "SELECT game_name, sum(hours_watched) AS h FROM gold.category_daily GROUP BY 1 ORDER BY h DESC LIMIT 20",
]


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cycle_times(log):
    """Seconds each ingest cycle took, as the server logged them."""
    return [float(m) for m in re.findall(r" cycle \d+: .*?, ([0-9.]+) s, rows", log)]


def client(uri, logins, stop, results, seed):
    rng = random.Random(seed)
    kinds = [k for k, w in KINDS for _ in range(w)]
    with flight_sql.connect(uri, autocommit=True) as conn:
        prepared = conn.cursor()
        prepared.adbc_prepare("SELECT login, viewer_count FROM live.streams WHERE login = ?")
        cur = conn.cursor()
        while not stop.is_set():
            kind = rng.choice(kinds)
            start = time.perf_counter()
            try:
                if kind == "live lookup":
                    cur.execute("SELECT * FROM live.streams WHERE login = ?", (rng.choice(logins),))
                    cur.fetch_arrow_table()
                elif kind == "leaderboard":
                    cur.execute("SELECT * FROM live.leaderboard ORDER BY rank LIMIT 50")
                    cur.fetch_arrow_table()
                elif kind == "gold query":
                    cur.execute(rng.choice(GOLD))
                    cur.fetch_arrow_table()
                elif kind == "metadata":
                    conn.adbc_get_objects(depth="columns").read_all()
                elif kind == "prepared":
                    prepared.execute(
                        "SELECT login, viewer_count FROM live.streams WHERE login = ?",
                        (rng.choice(logins),),
                    )
                    prepared.fetch_arrow_table()
                else:
                    cur.execute("SELECT * FROM silver.stream_snapshots LIMIT 100000")
                    cur.fetch_arrow_table()
                results.append((kind, time.perf_counter() - start, None))
            except Exception as e:  # noqa: BLE001 - every failure is counted
                results.append((kind, time.perf_counter() - start, str(e)[:200]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--poll-interval", type=float, default=60)
    args = ap.parse_args()
    uri = f"grpc://127.0.0.1:{args.port}"

    with flight_sql.connect(uri, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("SELECT login FROM live.streams LIMIT 2000")
        logins = [r[0] for r in cur.fetchall()] or ["nobody"]

    with open(args.log) as f:
        before = f.read()
    log_start = len(before)
    stop = threading.Event()
    rss = []

    def sample():
        while not stop.wait(1.0):
            rss.append(rss_mib(args.pid))

    results = []
    threads = [
        threading.Thread(target=client, args=(uri, logins, stop, results, i), daemon=True)
        for i in range(args.clients)
    ]
    sampler = threading.Thread(target=sample, daemon=True)
    began = time.perf_counter()
    for t in threads:
        t.start()
    sampler.start()
    while time.perf_counter() - began < args.seconds:
        time.sleep(min(30.0, args.seconds))
        done = len(results)
        print(f"load: {time.perf_counter() - began:.0f} s, {done} queries, "
              f"{sum(1 for r in results if r[2])} errors, server RSS {rss_mib(args.pid):.0f} MiB",
              flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    took = time.perf_counter() - began

    with open(args.log) as f:
        log = f.read()[log_start:]
    cycles = cycle_times(log)
    failed_cycles = len(re.findall(r"cycle \d+ failed after", log))
    unloaded = cycle_times(before)

    print(f"load: {args.clients} clients for {took:.0f} s: {len(results)} queries, "
          f"{len(results) / took:.1f} per second")
    print(f"{'kind':<12} {'queries':>8} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for kind, _ in KINDS:
        times = sorted(d for k, d, e in results if k == kind and e is None)
        errors = [e for k, _, e in results if k == kind and e]
        n = len(times) + len(errors)
        p = (lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1e3) if times else (lambda q: float("nan"))
        print(f"{kind:<12} {n:>8} {n / took:>7.1f} {p(0.5):>8.1f} {p(0.99):>8.1f} {len(errors):>7}")
        for e in sorted(set(errors))[:3]:
            print(f"    error: {e}")
    if unloaded:
        print(f"ingest before the load: {len(unloaded)} cycles, mean {statistics.mean(unloaded):.2f} s, "
              f"worst {max(unloaded):.2f} s")
    if cycles:
        print(f"ingest during the load: {len(cycles)} cycles, mean {statistics.mean(cycles):.2f} s, "
              f"worst {max(cycles):.2f} s, {failed_cycles} failed; "
              f"{sum(1 for c in cycles if c > args.poll_interval)} longer than the "
              f"{args.poll_interval:.0f} s poll interval")
    else:
        print(f"ingest during the load: no cycle finished, {failed_cycles} failed")
    rss = [r for r in rss if r == r]
    if rss:
        print(f"server RSS: max {max(rss):.0f} MiB, last {rss[-1]:.0f} MiB")
    errors = sum(1 for r in results if r[2])
    print(f"errors: {errors}")
    return 1 if errors or failed_cycles else 0


if __name__ == "__main__":
    raise SystemExit(main())
