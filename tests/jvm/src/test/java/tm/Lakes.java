package tm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * Lakes written by real runs of the binary on the simulator, built once per test JVM and shared
 * by the test classes that read them.
 */
final class Lakes {
  /** The default log filter plus the Flight layer's query log (to see pushed-down SQL). */
  static final String QUERY_LOG =
      "warn,twitch_monitor=info,twitch_monitor::flight=debug,deltalake_core=error,buoyant_kernel=off";

  private static Served small;
  private static Served crashed;

  private Lakes() {}

  /** A lake location and the server answering Flight SQL over it. */
  record Served(String location, Map<String, String> env, Tm.Server server) {
    int port() {
      return server.port();
    }
  }

  /**
   * Serves Flight SQL over an existing lake without changing it under the test: {@code serve} runs
   * its start-up cycle, then the next one is a day away and maintenance is off.
   */
  static Tm.Server serveQuietly(Map<String, String> env) {
    Map<String, String> e = new HashMap<>(env);
    e.put("TM_POLL_INTERVAL", "24h");
    e.put("TM_SIM_SPEED", "1");
    e.put("TM_MAINTAIN_INTERVAL", "0s");
    e.put("RUST_LOG", QUERY_LOG);
    Tm.Server s = Tm.serve(e);
    s.awaitCycles(1, Duration.ofMinutes(3));
    return s;
  }

  /** Three real cycles (two {@code ingest --once}, then the server's own): for the JDBC tests. */
  static synchronized Served small() {
    if (small == null) {
      Path dir = Tm.tempDir("tm-small-lake");
      Map<String, String> env = Tm.env(dir.toString());
      Tm.run(env, "ingest", "--once");
      Tm.run(env, "ingest", "--once");
      small = new Served(dir.toString(), env, serveQuietly(env));
    }
    return small;
  }

  /**
   * The lake Spark reads: {@code serve} runs a simulated day and a half (a cycle per simulated
   * hour, its own maintenance every six simulated hours, so closed days get compacted), is killed
   * with SIGKILL at a random point of a cycle, {@code ingest --once} repairs it, {@code maintain}
   * checkpoints and vacuums it, and a quiet server answers Flight SQL over it.
   */
  static synchronized Served crashed() {
    if (crashed == null) {
      Path dir = Tm.tempDir("tm-crashed-lake");
      Map<String, String> env = Tm.env(dir.toString());
      env.put("TM_POLL_INTERVAL", "1h");
      env.put("TM_SIM_SPEED", "36000");
      env.put("TM_MAINTAIN_INTERVAL", "6h");
      // Vacuum compares the files' real-time removal stamps with the simulated clock, which runs
      // 36,000 times faster: the default 7 days would be 17 real seconds, less than a slow cycle
      // holds its snapshot (its next read then misses a vacuumed file). 30 days is 72 seconds.
      env.put("TM_VACUUM_RETENTION", "30d");
      crashed = new Served(dir.toString(), env, crashAndRepair(env, 16));
    }
    return crashed;
  }

  /** Runs {@code cycles} cycles, kills mid-cycle, repairs, maintains, then serves quietly. */
  static Tm.Server crashAndRepair(Map<String, String> env, int cycles) {
    long seed = Long.getLong("tm.seed", System.nanoTime());
    System.out.println("crash-and-repair: seed " + seed + " (-Dtm.seed to repeat)");
    Random random = new Random(seed);
    Tm.Server running = Tm.serve(env);
    running.awaitCycles(cycles, Duration.ofMinutes(10));
    // Let a random part of the next cycle run, then SIGKILL (no sleeping for readiness: this
    // only chooses where the crash lands).
    long until = System.nanoTime() + random.nextInt(400) * 1_000_000L;
    while (System.nanoTime() < until) {
      Thread.onSpinWait();
    }
    running.kill9();
    Tm.run(env, "ingest", "--once");
    Tm.run(env, "maintain");
    return serveQuietly(env);
  }
}
