package tm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.List;
import java.util.TimeZone;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Statements, prepared statements and result sets through the Flight SQL JDBC driver against
 * {@code serve} over a lake of real cycles. The JVM's default time zone is not UTC (see the pom),
 * so a read or a bound parameter shifted by the local offset fails here.
 */
@Tag("jdbc")
class JdbcQueryTest {
  static Connection conn;

  @BeforeAll
  static void connect() throws SQLException {
    assertNotEquals(0, TimeZone.getDefault().getRawOffset(), "run with a non-UTC user.timezone");
    conn = Jdbc.connect(Lakes.small().port());
  }

  @AfterAll
  static void close() throws SQLException {
    conn.close();
  }

  /** Every column of every table and live view, read with the getter its JDBC type calls for. */
  @Test
  void everyColumnOfEveryTableReads() throws SQLException {
    List<String> tables = new ArrayList<>(Jdbc.lakeTables(conn));
    tables.addAll(List.of("live.streams", "live.leaderboard", "live.categories", "live.streamer_trends", "live.ingest_status"));
    for (String t : tables) {
      Sums sums = Jdbc.sums(conn, "SELECT * FROM twitch." + t);
      for (String kind : sums.kinds) {
        assertFalse(kind.startsWith("jdbc-type"), t + ": " + sums);
      }
      assertEquals(Jdbc.count(conn, "SELECT count(*) FROM twitch." + t), sums.rows, t);
      System.out.println("read " + t + ": " + sums);
    }
    for (String t : List.of("bronze.helix_responses", "silver.stream_snapshots", "silver.streamers", "gold.streamer_daily", "live.streams")) {
      assertTrue(Jdbc.count(conn, "SELECT count(*) FROM twitch." + t) > 0, t + " is empty");
    }
  }

  /** Timestamps with time zone, dates and list&lt;string&gt; tags agree with the server's own rendering. */
  @Test
  void timestampsDatesAndListsReadExactly() throws SQLException {
    String sql =
        "SELECT observed_at, CAST(observed_at AS BIGINT) AS micros, observed_date,"
            + " CAST(observed_date AS VARCHAR) AS day, tags, array_to_string(tags, '|') AS joined,"
            + " cardinality(tags) AS n FROM twitch.silver.stream_snapshots";
    int rows = 0;
    int withTags = 0;
    try (Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      ResultSetMetaData md = rs.getMetaData();
      assertEquals(Types.TIMESTAMP_WITH_TIMEZONE, md.getColumnType(1));
      assertEquals(Types.DATE, md.getColumnType(3));
      assertEquals(Types.ARRAY, md.getColumnType(5));
      while (rs.next()) {
        rows++;
        OffsetDateTime ts = rs.getObject("observed_at", OffsetDateTime.class);
        assertEquals(rs.getLong("micros"), ChronoUnit.MICROS.between(Instant.EPOCH, ts.toInstant()), "observed_at");
        assertEquals(LocalDate.parse(rs.getString("day")), rs.getDate("observed_date").toLocalDate(), "observed_date");
        Array tags = rs.getArray("tags");
        if (tags != null) {
          List<String> items = new ArrayList<>();
          for (Object o : (Object[]) tags.getArray()) {
            items.add(String.valueOf(o));
          }
          assertEquals(rs.getLong("n"), items.size());
          assertEquals(rs.getString("joined"), String.join("|", items));
          withTags += items.isEmpty() ? 0 : 1;
        }
      }
    }
    assertTrue(rows > 0 && withTags > 0, rows + " rows, " + withTags + " with tags");
  }

  @Test
  void resultSetMetaData() throws SQLException {
    try (Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery("SELECT user_id, login, viewer_count, started_at FROM twitch.live.streams")) {
      ResultSetMetaData md = rs.getMetaData();
      assertEquals(4, md.getColumnCount());
      assertEquals(List.of("user_id", "login", "viewer_count", "started_at"), List.of(md.getColumnName(1), md.getColumnName(2), md.getColumnName(3), md.getColumnName(4)));
      assertEquals("login", md.getColumnLabel(2));
      assertEquals(Types.VARCHAR, md.getColumnType(1));
      assertEquals(Types.BIGINT, md.getColumnType(3));
      assertEquals(Types.TIMESTAMP_WITH_TIMEZONE, md.getColumnType(4));
      assertEquals(ResultSetMetaData.columnNoNulls, md.isNullable(3));
    }
  }

  /** Spark learns a table's columns from an empty prepared query: each column once. */
  @Test
  void emptyPreparedResultHasItsColumns() throws SQLException {
    try (PreparedStatement p = conn.prepareStatement("SELECT * FROM twitch.live.streams WHERE 1=0");
        ResultSet rs = p.executeQuery()) {
      assertEquals(
          Jdbc.count(conn, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'live' AND table_name = 'streams'"),
          rs.getMetaData().getColumnCount());
      assertFalse(rs.next());
    }
  }

  @Test
  void plainStatements() throws SQLException {
    try (Statement s = conn.createStatement()) {
      assertTrue(s.execute("SELECT count(*) AS n FROM twitch.live.streams"));
      try (ResultSet rs = s.getResultSet()) {
        assertTrue(rs.next());
        assertTrue(rs.getLong("n") > 0);
        assertFalse(rs.next());
      }
      assertEquals(-1, s.getUpdateCount());
      assertEquals(3, rows(s, "SELECT * FROM twitch.silver.stream_snapshots LIMIT 3"));
      // Driver 18.3 does not enforce setMaxRows (3 gave all 6 rows of a small table): it never
      // gives fewer, but LIMIT is the way to cap a result (the README says so).
      // The catalog's own columns: many rows whatever the simulated hour left in the lake.
      long all = Jdbc.count(conn, "SELECT count(*) FROM information_schema.columns");
      s.setMaxRows(3);
      long capped = rows(s, "SELECT * FROM information_schema.columns");
      assertTrue(all > 3 && capped >= 3 && capped <= all, capped + " of " + all + " rows with setMaxRows(3)");
    }
  }

  private static long rows(Statement s, String sql) throws SQLException {
    long n = 0;
    try (ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        n++;
      }
    }
    return n;
  }

  /**
   * One parameter of each type the data contract uses, bound through a prepared statement, gives
   * the same answer as the literal SQL; rebinding gives the new answer.
   */
  @Test
  void preparedStatementsWithEveryParameterType() throws SQLException {
    String table = "twitch.silver.stream_snapshots";
    long median = Jdbc.count(conn, "SELECT CAST(median(viewer_count) AS BIGINT) FROM " + table);
    String login = Jdbc.column(conn, "SELECT min(user_login) FROM " + table).get(0);
    String day = Jdbc.column(conn, "SELECT CAST(max(observed_date) AS VARCHAR) FROM " + table).get(0);
    // setTimestamp binds milliseconds (the server advertises millisecond timestamp parameters),
    // so compare at a whole millisecond: the first one after the median observation.
    long firstMicros =
        (Jdbc.count(conn, "SELECT CAST(median(CAST(observed_at AS BIGINT)) AS BIGINT) FROM " + table) / 1000 + 1) * 1000;
    Instant first = Instant.EPOCH.plus(firstMicros, ChronoUnit.MICROS);
    double seconds;
    try (Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery("SELECT avg(interval_seconds) FROM " + table)) {
      rs.next();
      seconds = rs.getDouble(1);
    }

    assertBound("CAST(viewer_count AS INT) >= ?", "CAST(viewer_count AS INT) >= " + median, p -> p.setInt(1, (int) median));
    assertBound("viewer_count >= ?", "viewer_count >= " + median, p -> p.setLong(1, median));
    assertBound("interval_seconds >= ?", "interval_seconds >= " + seconds, p -> p.setDouble(1, seconds));
    assertBound("user_login = ?", "user_login = '" + login + "'", p -> p.setString(1, login));
    assertBound("observed_date = ?", "observed_date = DATE '" + day + "'", p -> p.setDate(1, java.sql.Date.valueOf(LocalDate.parse(day))));
    // With a UTC calendar, setTimestamp binds the instant itself.
    Calendar utc = Calendar.getInstance(TimeZone.getTimeZone("UTC"));
    assertBound(
        "observed_at > ?",
        "CAST(observed_at AS BIGINT) > " + firstMicros,
        p -> p.setTimestamp(1, Timestamp.from(first), utc));
    // Without one, driver 18.3 binds the JVM's wall-clock reading of the instant as if it were
    // UTC: the server sees it shifted by the JVM's zone offset (the README says so).
    long offsetMillis = TimeZone.getDefault().getOffset(first.toEpochMilli());
    assertBound(
        "observed_at > ?",
        "CAST(observed_at AS BIGINT) > " + firstMicros,
        p -> p.setTimestamp(1, Timestamp.from(first.minusMillis(offsetMillis))));

    // Rows (not just a count) with several parameters, and rebinding the same statement.
    try (PreparedStatement p =
        conn.prepareStatement("SELECT user_login, viewer_count FROM " + table + " WHERE user_login = ? AND viewer_count >= ?")) {
      p.setString(1, login);
      p.setLong(2, 0);
      int all = 0;
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          assertEquals(login, rs.getString(1));
          all++;
        }
      }
      assertTrue(all > 0);
      p.setLong(2, Long.MAX_VALUE);
      try (ResultSet rs = p.executeQuery()) {
        assertFalse(rs.next());
      }
      assertEquals(2, p.getParameterMetaData().getParameterCount());
    }
  }

  interface Binder {
    void bind(PreparedStatement p) throws SQLException;
  }

  private static void assertBound(String where, String literal, Binder binder) throws SQLException {
    assertBound(conn, where, literal, binder);
  }

  private static void assertBound(Connection conn, String where, String literal, Binder binder) throws SQLException {
    String base = "SELECT count(*) FROM twitch.silver.stream_snapshots WHERE ";
    long expected = Jdbc.count(conn, base + literal);
    try (PreparedStatement p = conn.prepareStatement(base + where)) {
      binder.bind(p);
      try (ResultSet rs = p.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(expected, rs.getLong(1), where + " vs " + literal);
      }
    }
    long all = Jdbc.count(conn, "SELECT count(*) FROM twitch.silver.stream_snapshots");
    assertTrue(expected > 0 && expected <= all, where + ": " + expected + " of " + all + " rows (pick a value that selects some)");
  }

  /**
   * Ten million rows (about a gigabyte as text) stream through the driver in a JVM with a 256 MB
   * heap (see the pom) and a bounded resident set: the driver never holds the whole result.
   */
  @Test
  void tenMillionRowsStream() throws Exception {
    long n = 10_000_000L;
    String sql =
        "SELECT value, concat('row-', CAST(value AS VARCHAR), '-', repeat('x', 90)) AS padding"
            + " FROM generate_series(1, " + n + ") AS t(value)";
    long rows = 0;
    long sum = 0;
    long chars = 0;
    long start = System.nanoTime();
    try (Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        long v = rs.getLong(1);
        String pad = rs.getString(2);
        rows++;
        sum += v;
        chars += pad.length();
        if (rows % 1_000_003 == 0) {
          assertTrue(pad.startsWith("row-" + v + "-x"), pad);
        }
      }
    }
    double secs = (System.nanoTime() - start) / 1e9;
    long peak = peakRssBytes();
    System.out.printf(
        "JDBC: %,d rows (%,d MB of text) in %.1f s = %,.0f rows/s; JVM peak RSS %,d MB%n",
        rows, chars >> 20, secs, rows / secs, peak >> 20);
    assertEquals(n, rows);
    assertEquals(n * (n + 1) / 2, sum);
    assertTrue(chars > 900L << 20, "the result is larger than the heap and the RSS bound");
    assertTrue(peak < 900L << 20, "peak RSS " + (peak >> 20) + " MB: the driver held the result");
  }

  /** VmHWM of this JVM (Linux). */
  static long peakRssBytes() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmHWM in /proc/self/status");
  }
}
