package tm;

import static org.apache.spark.sql.functions.desc;
import static org.apache.spark.sql.functions.max;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.delta.tables.DeltaTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Delta's reference reader (Spark + delta-spark, what Databricks runs) reads every table of a lake
 * that a real {@code serve} wrote, that was killed mid-cycle, repaired, compacted, checkpointed and
 * vacuumed; each table must hold exactly what Flight SQL answers for it, column by column.
 */
@Tag("spark")
class SparkDeltaTest {
  static Lakes.Served lake;
  static Connection conn;

  @BeforeAll
  static void setUp() throws SQLException {
    lake = Lakes.crashed();
    conn = Jdbc.connect(lake.port());
    Spark.session();
  }

  @AfterAll
  static void tearDown() throws SQLException {
    conn.close();
  }

  @Test
  void everyTableMatchesFlightSql() throws SQLException {
    List<String> tables = Jdbc.lakeTables(conn);
    assertTrue(tables.size() >= 14, tables::toString);
    java.util.Map<String, Long> rows = new java.util.HashMap<>();
    for (String t : tables) {
      Sums spark = Sums.of(Spark.delta(lake.location(), t));
      Sums flight = Jdbc.sums(conn, "SELECT * FROM twitch." + t);
      System.out.println("spark vs flight " + t + ": " + spark);
      Sums.assertSame(flight, spark, t);
      rows.put(t, spark.rows);
    }
    for (String t : List.of("bronze.helix_responses", "silver.stream_snapshots", "silver.stream_sessions", "gold.streamer_daily", "gold.leaderboard_daily")) {
      assertTrue(rows.get(t) > 0, t + " is empty");
    }
  }

  /** The protocol the README promises every Databricks runtime reads. */
  @Test
  void protocolIsReaderOneWriterTwo() {
    for (String t : layerTables()) {
      Row detail = Spark.session().sql("DESCRIBE DETAIL delta.`" + Spark.path(lake.location(), t) + "`").first();
      assertEquals(1, detail.<Integer>getAs("minReaderVersion"), t);
      assertEquals(2, detail.<Integer>getAs("minWriterVersion"), t);
    }
  }

  /**
   * The README's Databricks recipe, in Spark's own catalog: an external table over the Delta
   * location reads the same rows and leaves the table as it was (no new commit, same protocol).
   */
  @Test
  void externalTableOverTheLocation() throws SQLException {
    String path = Spark.path(lake.location(), "gold.streamer_daily");
    long version = DeltaTable.forPath(Spark.session(), path).history(1).first().getLong(0);
    Spark.session().sql("CREATE TABLE streamer_daily USING DELTA LOCATION '" + path + "'");
    try {
      Sums.assertSame(
          Jdbc.sums(conn, "SELECT * FROM twitch.gold.streamer_daily"),
          Sums.of(Spark.session().table("streamer_daily")),
          "external table gold.streamer_daily");
      assertEquals(version, DeltaTable.forPath(Spark.session(), path).history(1).first().getLong(0), "the table was written");
      Row detail = Spark.session().sql("DESCRIBE DETAIL streamer_daily").first();
      assertEquals(1, detail.<Integer>getAs("minReaderVersion"));
      assertEquals(2, detail.<Integer>getAs("minWriterVersion"));
    } finally {
      Spark.session().sql("DROP TABLE streamer_daily");
    }
    assertTrue(Files.exists(Path.of(path, "_delta_log")), "dropping the external table deleted the data");
  }

  /** What maintenance did is visible to Spark: compaction commits and checkpoints. */
  @Test
  void readsAfterCompactionAndCheckpoints() {
    int optimized = 0;
    for (String t : layerTables()) {
      Path log = Path.of(Spark.path(lake.location(), t), "_delta_log");
      assertTrue(Files.exists(log.resolve("_last_checkpoint")), t + " has no checkpoint");
      List<String> ops = operations(t);
      optimized += ops.contains("OPTIMIZE") ? 1 : 0;
    }
    assertTrue(optimized > 0, "no table was compacted");
    assertTrue(operations("bronze.helix_responses").contains("OPTIMIZE"), "bronze was not compacted");
  }

  /**
   * Time travel to an earlier version still within retention (the newest append before the last
   * two commits: the server's own vacuum runs on simulated time, so the oldest versions' files are
   * gone) shows exactly the cycles committed by then: for the tables appended once per cycle,
   * version v holds every row of the cycles up to its last one and nothing else.
   */
  @Test
  void timeTravelToAnEarlierVersion() throws SQLException {
    for (String t : List.of("bronze.helix_responses", "silver.stream_snapshots", "silver.follower_snapshots")) {
      String path = Spark.path(lake.location(), t);
      List<Row> history =
          DeltaTable.forPath(Spark.session(), path).history().orderBy(desc("version")).select("version", "operation").collectAsList();
      long latest = history.get(0).getLong(0);
      long v =
          history.stream()
              .filter(r -> r.getString(1).equals("WRITE") && r.getLong(0) < latest - 1)
              .findFirst()
              .orElseThrow(() -> new AssertionError(t + ": no earlier append in " + history))
              .getLong(0);
      Dataset<Row> old = Spark.session().read().format("delta").option("versionAsOf", v).load(path);
      long lastCycle = old.agg(max("cycle_id")).first().getLong(0);
      Sums then = Sums.of(old);
      Sums flight = Jdbc.sums(conn, "SELECT * FROM twitch." + t + " WHERE cycle_id <= " + lastCycle);
      System.out.println("time travel " + t + "@" + v + " of " + latest + " (cycles <= " + lastCycle + "): " + then);
      Sums.assertSame(flight, then, t + "@" + v);
      assertTrue(then.rows < Jdbc.count(conn, "SELECT count(*) FROM twitch." + t), t + "@" + v + " is not older");
    }
  }

  private static List<String> operations(String t) {
    return DeltaTable.forPath(Spark.session(), Spark.path(lake.location(), t)).history().select("operation").collectAsList().stream()
        .map(r -> r.getString(0))
        .toList();
  }

  private static List<String> layerTables() {
    try {
      return Jdbc.lakeTables(conn);
    } catch (SQLException e) {
      throw new RuntimeException(e);
    }
  }
}
