package tm;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** Connections through the Arrow Flight SQL JDBC driver, as a BI tool opens them. */
final class Jdbc {
  static final String DRIVER = "org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver";

  private Jdbc() {}

  /** The URL of a plaintext server on 127.0.0.1 ({@code extra}: more {@code &key=value}s). */
  static String url(int port, String extra) {
    return "jdbc:arrow-flight-sql://127.0.0.1:" + port + "/?useEncryption=false" + extra;
  }

  static Connection connect(int port) throws SQLException {
    return DriverManager.getConnection(url(port, ""), new Properties());
  }

  static Connection connect(String url) throws SQLException {
    return DriverManager.getConnection(url, new Properties());
  }

  /** The first column of every row, as strings. */
  static List<String> column(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  static long count(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * The digest of a whole query result, through a prepared statement: driver 18.3 reports every
   * column twice for an empty result of a plain Statement.
   */
  static Sums sums(Connection c, String sql) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql);
        ResultSet rs = s.executeQuery()) {
      return Sums.of(rs);
    }
  }

  /** Every lake table (schemas bronze, silver, gold) as {@code schema.table}, from getTables. */
  static List<String> lakeTables(Connection c) throws SQLException {
    List<String> out = new ArrayList<>();
    try (ResultSet rs = c.getMetaData().getTables("twitch", null, "%", null)) {
      while (rs.next()) {
        String schema = rs.getString("TABLE_SCHEM");
        if (List.of("bronze", "silver", "gold").contains(schema)) {
          out.add(schema + "." + rs.getString("TABLE_NAME"));
        }
      }
    }
    out.sort(null);
    return out;
  }
}
