package tm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * DatabaseMetaData through the Flight SQL JDBC driver: what DBeaver and other BI tools call when
 * they open a connection and browse the tree, against {@code serve} over a lake of real cycles.
 */
@Tag("jdbc")
class JdbcMetadataTest {
  static Connection conn;
  static DatabaseMetaData md;

  @BeforeAll
  static void connect() throws SQLException {
    conn = Jdbc.connect(Lakes.small().port());
    md = conn.getMetaData();
  }

  @AfterAll
  static void close() throws SQLException {
    conn.close();
  }

  static List<List<String>> rows(ResultSet rs, String... columns) throws SQLException {
    List<List<String>> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) {
        List<String> row = new ArrayList<>();
        for (String c : columns) {
          row.add(rs.getString(c));
        }
        out.add(row);
      }
    }
    return out;
  }

  @Test
  void catalogsSchemasAndTableTypes() throws SQLException {
    assertEquals(List.of(List.of("twitch")), rows(md.getCatalogs(), "TABLE_CAT"));
    List<List<String>> schemas = rows(md.getSchemas(), "TABLE_CATALOG", "TABLE_SCHEM");
    assertEquals(
        List.of("bronze", "gold", "information_schema", "live", "silver"),
        schemas.stream().map(r -> r.get(1)).sorted().toList());
    assertTrue(schemas.stream().allMatch(r -> r.get(0).equals("twitch")), schemas::toString);
    assertEquals(
        List.of(List.of("gold")), rows(md.getSchemas("twitch", "go%"), "TABLE_SCHEM"));
    assertEquals(
        List.of("TABLE", "VIEW"),
        rows(md.getTableTypes(), "TABLE_TYPE").stream().map(r -> r.get(0)).sorted().toList());
  }

  @Test
  void tablesWithTheirTypes() throws SQLException {
    Map<String, String> types = new TreeMap<>();
    for (List<String> r :
        rows(md.getTables("twitch", null, "%", null), "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE")) {
      assertEquals("twitch", r.get(0));
      types.put(r.get(1) + "." + r.get(2), r.get(3));
    }
    for (String t :
        List.of(
            "bronze.helix_responses",
            "bronze.chat_messages",
            "silver.streamers",
            "silver.stream_snapshots",
            "silver.follower_snapshots",
            "silver.stream_sessions",
            "silver.games",
            "silver.chat_minutes",
            "gold.streamer_daily",
            "gold.category_daily",
            "gold.leaderboard_daily",
            "gold.leaderboard_weekly",
            "gold.rising_stars",
            "gold.hourly_viewership",
            "live.streams",
            "live.leaderboard",
            "live.categories",
            "live.streamer_trends",
            "live.ingest_status")) {
      assertEquals("TABLE", types.get(t), t + " in " + types);
    }
    assertEquals("VIEW", types.get("information_schema.tables"), types::toString);
    // The filters DBeaver sends when a folder is expanded.
    assertEquals(
        List.of(List.of("leaderboard_daily"), List.of("leaderboard_weekly")),
        rows(md.getTables("twitch", "gold", "leaderboard%", new String[] {"TABLE"}), "TABLE_NAME").stream()
            .sorted(Comparator.comparing(r -> r.get(0)))
            .toList());
    assertTrue(
        rows(md.getTables(null, null, "%", new String[] {"VIEW"}), "TABLE_SCHEM").stream()
            .allMatch(r -> r.get(0).equals("information_schema")));
  }

  /** getColumns agrees with the result metadata of the same table, column by column. */
  @Test
  void columnsWithJdbcTypes() throws SQLException {
    List<List<String>> tables = rows(md.getTables("twitch", null, "%", new String[] {"TABLE"}), "TABLE_SCHEM", "TABLE_NAME");
    assertTrue(tables.size() >= 19, tables::toString);
    for (List<String> t : tables) {
      String name = t.get(0) + "." + t.get(1);
      List<List<String>> cols =
          rows(
              md.getColumns("twitch", t.get(0), t.get(1), "%"),
              "COLUMN_NAME",
              "DATA_TYPE",
              "TYPE_NAME",
              "NULLABLE",
              "ORDINAL_POSITION");
      // A prepared statement, as Spark and DBeaver's browser use: driver 18.3 reports every
      // column twice for an empty result of a plain Statement.
      try (PreparedStatement s = conn.prepareStatement("SELECT * FROM twitch." + name + " WHERE 1=0");
          ResultSet rs = s.executeQuery()) {
        ResultSetMetaData rmd = rs.getMetaData();
        assertEquals(rmd.getColumnCount(), cols.size(), name);
        for (int i = 1; i <= rmd.getColumnCount(); i++) {
          List<String> c = cols.get(i - 1);
          String col = name + "." + c.get(0);
          assertEquals(rmd.getColumnName(i), c.get(0), col);
          assertEquals(String.valueOf(rmd.getColumnType(i)), c.get(1), col + " DATA_TYPE");
          assertEquals(String.valueOf(i), c.get(4), col + " ORDINAL_POSITION");
          assertFalse(Sums.jdbcKind(rmd.getColumnType(i)).startsWith("jdbc-type"), col + " has type " + c);
        }
      }
    }
    // The contract's types, as a JDBC user sees them.
    Map<String, Integer> snapshots = new LinkedHashMap<>();
    for (List<String> c : rows(md.getColumns("twitch", "silver", "stream_snapshots", "%"), "COLUMN_NAME", "DATA_TYPE")) {
      snapshots.put(c.get(0), Integer.valueOf(c.get(1)));
    }
    assertEquals(Types.TIMESTAMP_WITH_TIMEZONE, snapshots.get("observed_at"));
    assertEquals(Types.BIGINT, snapshots.get("cycle_id"));
    assertEquals(Types.VARCHAR, snapshots.get("user_login"));
    assertEquals(Types.ARRAY, snapshots.get("tags"));
    assertEquals(Types.DOUBLE, snapshots.get("interval_seconds"));
    assertEquals(Types.DATE, snapshots.get("observed_date"));
    List<List<String>> current = rows(md.getColumns("twitch", "silver", "streamers", "is_current"), "DATA_TYPE", "NULLABLE");
    assertEquals(List.of(List.of(String.valueOf(Types.BOOLEAN), String.valueOf(DatabaseMetaData.columnNoNulls))), current);
    List<List<String>> login = rows(md.getColumns("twitch", "gold", "streamer_daily", "login"), "NULLABLE");
    assertEquals(List.of(List.of(String.valueOf(DatabaseMetaData.columnNullable))), login);
  }

  /** The lake declares no keys: the key calls answer empty results, they do not fail. */
  @Test
  void keys() throws SQLException {
    assertEquals(List.of(), rows(md.getPrimaryKeys("twitch", "gold", "streamer_daily"), "COLUMN_NAME"));
    assertEquals(List.of(), rows(md.getImportedKeys("twitch", "gold", "streamer_daily"), "PKCOLUMN_NAME"));
    assertEquals(List.of(), rows(md.getExportedKeys("twitch", "silver", "streamers"), "FKCOLUMN_NAME"));
    assertEquals(
        List.of(),
        rows(md.getCrossReference("twitch", "silver", "streamers", "twitch", "gold", "streamer_daily"), "FKCOLUMN_NAME"));
  }

  /**
   * getTypeInfo answers with JDBC's columns. Driver 18.3 answers it itself (empty) without asking
   * the server's GetXdbcTypeInfo, so the rows are the driver's business; it must not fail.
   */
  @Test
  void typeInfo() throws SQLException {
    try (ResultSet rs = md.getTypeInfo()) {
      ResultSetMetaData rmd = rs.getMetaData();
      assertEquals("TYPE_NAME", rmd.getColumnName(1));
      assertEquals("DATA_TYPE", rmd.getColumnName(2));
      while (rs.next()) {
        assertFalse(rs.getString("TYPE_NAME").isEmpty());
      }
    }
  }

  @Test
  void keywordsAndIdentifierQuoting() throws SQLException {
    assertEquals("\"", md.getIdentifierQuoteString());
    List<String> keywords = Arrays.asList(md.getSQLKeywords().split(",\\s*"));
    assertTrue(keywords.containsAll(List.of("LIMIT", "QUALIFY", "UNNEST")), keywords::toString);
    assertTrue(md.getNumericFunctions().contains("sqrt"), md.getNumericFunctions());
    assertTrue(md.getStringFunctions().contains("lower"), md.getStringFunctions());
    // Quoted names work the way getIdentifierQuoteString says.
    assertEquals(
        Jdbc.count(conn, "SELECT count(*) FROM twitch.gold.leaderboard_daily"),
        Jdbc.count(conn, "SELECT count(\"login\") + count(*) - count(\"login\") FROM \"twitch\".\"gold\".\"leaderboard_daily\""));
  }

  @Test
  void serverProperties() throws SQLException {
    assertEquals("twitch-monitor", md.getDatabaseProductName());
    assertFalse(md.getDatabaseProductVersion().isEmpty());
    assertTrue(md.isReadOnly());
    assertEquals(Connection.TRANSACTION_NONE, md.getDefaultTransactionIsolation());
    assertFalse(md.supportsTransactions());
    assertEquals(0, md.getMaxColumnsInTable());
    assertTrue(md.supportsColumnAliasing());
    assertTrue(md.supportsFullOuterJoins());
    assertTrue(md.supportsUnionAll());
    assertEquals("schema", md.getSchemaTerm());
    assertEquals("catalog", md.getCatalogTerm());
  }

  /**
   * Every no-argument DatabaseMetaData method, called once: the getters the driver answers from
   * the server's SqlInfo must all work (older drivers throw on a missing or mistyped key, and
   * DBeaver calls many of them on connect).
   */
  @Test
  void everyNoArgumentGetterAnswers() throws Exception {
    Map<String, String> failures = new TreeMap<>();
    TreeSet<String> called = new TreeSet<>();
    for (Method m : DatabaseMetaData.class.getMethods()) {
      if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || m.getName().equals("getConnection")) {
        continue;
      }
      called.add(m.getName());
      try {
        Object v = m.invoke(md);
        if (v instanceof ResultSet rs) {
          rs.close();
        }
      } catch (InvocationTargetException e) {
        failures.put(m.getName(), String.valueOf(e.getCause()));
      }
    }
    System.out.println("DatabaseMetaData: " + called.size() + " no-argument methods called");
    assertTrue(called.size() >= 100, called::toString);
    assertEquals(Map.of(), failures);
  }

  /** What DBeaver's generic driver reads when it opens a table's tabs, beyond columns and keys. */
  @Test
  void browsingCallsAnswer() throws SQLException {
    rows(md.getIndexInfo("twitch", "gold", "streamer_daily", false, true), "TABLE_NAME");
    rows(md.getProcedures("twitch", null, "%"), "PROCEDURE_NAME");
    rows(md.getFunctions("twitch", null, "%"), "FUNCTION_NAME");
    rows(md.getTablePrivileges("twitch", "gold", "%"), "TABLE_NAME");
    rows(md.getBestRowIdentifier("twitch", "gold", "streamer_daily", DatabaseMetaData.bestRowSession, true), "COLUMN_NAME");
  }
}
