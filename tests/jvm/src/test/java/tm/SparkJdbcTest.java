package tm;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The federated path the README documents for Databricks: Spark's JDBC data source with the
 * Flight SQL JDBC driver, reading a live view and a gold table, with a filter Spark pushes down
 * into the SQL it sends (checked in the server's query log).
 */
@Tag("spark")
class SparkJdbcTest {
  static Lakes.Served lake;
  static Connection conn;

  @BeforeAll
  static void setUp() throws SQLException {
    lake = Lakes.crashed();
    conn = Jdbc.connect(lake.port());
  }

  @AfterAll
  static void tearDown() throws SQLException {
    conn.close();
  }

  static Dataset<Row> jdbc(String table) {
    return Spark.session()
        .read()
        .format("jdbc")
        .option("driver", Jdbc.DRIVER)
        .option("url", Jdbc.url(lake.port(), ""))
        .option("dbtable", table)
        .load();
  }

  @Test
  void liveStreamsWithAPushedDownFilter() throws SQLException {
    Sums all = Sums.of(jdbc("twitch.live.streams"));
    Sums.assertSame(Jdbc.sums(conn, "SELECT * FROM twitch.live.streams"), all, "live.streams via Spark JDBC");
    assertTrue(all.rows > 0);

    // Above the smallest count: at least one row is filtered out however few streams are live.
    long threshold = Jdbc.count(conn, "SELECT min(viewer_count) FROM twitch.live.streams");
    Dataset<Row> busy = jdbc("twitch.live.streams").filter(col("viewer_count").gt(threshold));
    Sums filtered = Sums.of(busy);
    Sums.assertSame(
        Jdbc.sums(conn, "SELECT * FROM twitch.live.streams WHERE viewer_count > " + threshold), filtered, "filtered live.streams");
    assertTrue(filtered.rows < all.rows, filtered.rows + " of " + all.rows);
    // Spark put the filter into the SQL it sent, so the server filtered.
    lake.server().await(
        l -> l.contains("flight query") && l.contains("FROM twitch.live.streams") && l.contains("\"viewer_count\" > " + threshold),
        Duration.ofSeconds(10),
        "query log line with the pushed-down filter");
  }

  /** The README's snippet: the {@code query} option instead of {@code dbtable}. */
  @Test
  void queryOption() throws SQLException {
    Dataset<Row> df =
        Spark.session()
            .read()
            .format("jdbc")
            .option("driver", Jdbc.DRIVER)
            .option("url", Jdbc.url(lake.port(), ""))
            .option("query", "SELECT * FROM twitch.live.streams")
            .load();
    Sums.assertSame(Jdbc.sums(conn, "SELECT * FROM twitch.live.streams"), Sums.of(df), "live.streams via the query option");
  }

  /** The dialect's list mapping: list&lt;string&gt; tags arrive as Spark arrays of strings. */
  @Test
  void tagsArriveAsArrays() throws SQLException {
    String sql = "SELECT stream_id, observed_at, tags FROM twitch.silver.stream_snapshots";
    Dataset<Row> df =
        Spark.session().read().format("jdbc").option("driver", Jdbc.DRIVER).option("url", Jdbc.url(lake.port(), "")).option("query", sql).load();
    Sums spark = Sums.of(df);
    assertEquals("array", spark.kinds.get(2));
    Sums.assertSame(Jdbc.sums(conn, sql), spark, "tags via Spark JDBC");
    assertTrue(Jdbc.count(conn, "SELECT count(*) FROM twitch.silver.stream_snapshots WHERE cardinality(tags) > 0") > 0);
  }

  @Test
  void goldTableMatchesTheDeltaTable() throws SQLException {
    String day = Jdbc.column(conn, "SELECT CAST(max(day) AS VARCHAR) FROM twitch.gold.streamer_daily").get(0);
    Dataset<Row> viaJdbc = jdbc("twitch.gold.streamer_daily").filter(col("day").equalTo(java.sql.Date.valueOf(day)));
    Dataset<Row> viaDelta = Spark.delta(lake.location(), "gold.streamer_daily").filter(col("day").equalTo(java.sql.Date.valueOf(day)));
    Sums delta = Sums.of(viaDelta);
    Sums.assertSame(delta, Sums.of(viaJdbc), "gold.streamer_daily for " + day + ": Spark JDBC vs Delta");
    assertTrue(delta.rows > 0);
    assertEquals(Jdbc.count(conn, "SELECT count(*) FROM twitch.gold.streamer_daily WHERE day = DATE '" + day + "'"), delta.rows);
    lake.server().await(
        l -> l.contains("flight query") && l.contains("FROM twitch.gold.streamer_daily") && l.contains("\"day\" = "),
        Duration.ofSeconds(10),
        "query log line with the pushed-down day filter");
  }
}
