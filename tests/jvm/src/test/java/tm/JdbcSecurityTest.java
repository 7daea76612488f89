package tm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Authentication (user/password → bearer token, static token), TLS with a trust store made from
 * the test CA, and the messages a JDBC user reads when something is refused or wrong: they say
 * what happened, without gRPC internals or stack traces.
 */
@Tag("jdbc")
class JdbcSecurityTest {
  static final String PASSWORD = "correct-horse-battery";
  static final String TOKEN = "static-token-for-jvm-tests-0123456789";
  static Certs certs;
  static Tm.Server server;

  @BeforeAll
  static void start() throws Exception {
    certs = Certs.make();
    String salt = "pepper";
    String hash =
        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest((salt + PASSWORD).getBytes(StandardCharsets.UTF_8)));
    Map<String, String> env = Tm.env(Tm.tempDir("tm-secure-lake").toString());
    env.put("TM_FLIGHT_AUTH", "basic");
    env.put("TM_FLIGHT_USERS", "alice:" + salt + ":" + hash);
    env.put("TM_FLIGHT_TOKENS", TOKEN);
    env.put("TM_FLIGHT_TLS_CERT", certs.cert().toString());
    env.put("TM_FLIGHT_TLS_KEY", certs.key().toString());
    server = Lakes.serveQuietly(env);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** A TLS URL that trusts the test CA, plus {@code extra}. */
  static String url(String extra) {
    return "jdbc:arrow-flight-sql://localhost:"
        + server.port()
        + "/?useEncryption=true&useSystemTrustStore=false&trustStore="
        + certs.trustStore()
        + "&trustStorePassword="
        + Certs.TRUST_STORE_PASSWORD
        + extra;
  }

  @Test
  void userAndPasswordOverTls() throws SQLException {
    try (Connection c = Jdbc.connect(url("&user=alice&password=" + PASSWORD))) {
      assertTrue(Jdbc.count(c, "SELECT count(*) FROM twitch.live.streams") > 0);
      // The bearer token from the handshake keeps working for metadata and prepared statements.
      assertEquals(List.of("twitch"), Jdbc.column(c, "SELECT DISTINCT table_catalog FROM information_schema.tables WHERE table_schema = 'gold'"));
      try (PreparedStatement p = c.prepareStatement("SELECT count(*) FROM twitch.silver.stream_snapshots WHERE viewer_count >= ?")) {
        p.setLong(1, 0);
        try (var rs = p.executeQuery()) {
          assertTrue(rs.next() && rs.getLong(1) > 0);
        }
      }
      try (var catalogs = c.getMetaData().getCatalogs()) {
        assertTrue(catalogs.next());
      }
    }
  }

  @Test
  void staticTokenOverTls() throws SQLException {
    try (Connection c = Jdbc.connect(url("&token=" + TOKEN))) {
      assertTrue(Jdbc.count(c, "SELECT count(*) FROM twitch.live.streams") > 0);
    }
  }

  @Test
  void wrongPasswordIsRefusedReadably() {
    String msg = failure(() -> Jdbc.connect(url("&user=alice&password=wrong")).close());
    assertReadable(msg, "invalid user name or password");
    String unknown = failure(() -> Jdbc.connect(url("&user=mallory&password=" + PASSWORD)).close());
    assertEquals(msg, unknown, "a wrong user and a wrong password look the same");
    assertReadable(failure(() -> Jdbc.connect(url("&token=not-a-valid-token-at-all")).close()), "invalid");
  }

  @Test
  void missingCredentialsAreRefusedReadably() {
    assertReadable(failure(() -> query(url(""), "SELECT 1")), "authorization");
  }

  @Test
  void certificateMustBeTrusted() {
    String msg = failure(() -> query("jdbc:arrow-flight-sql://localhost:" + server.port() + "/?useEncryption=true&token=" + TOKEN, "SELECT 1"));
    System.out.println("untrusted certificate: " + msg);
    String plain = failure(() -> query("jdbc:arrow-flight-sql://localhost:" + server.port() + "/?useEncryption=false&token=" + TOKEN, "SELECT 1"));
    System.out.println("plaintext to a TLS server: " + plain);
  }

  @Test
  void writesAreRefusedReadably() {
    for (String sql :
        List.of(
            "CREATE TABLE t AS SELECT 1",
            "INSERT INTO twitch.gold.streamer_daily SELECT * FROM twitch.gold.streamer_daily",
            "DELETE FROM twitch.gold.streamer_daily",
            "DROP TABLE twitch.gold.streamer_daily",
            "COPY (SELECT 1) TO '/tmp/tm-jdbc-copy.csv'")) {
      assertReadable(failure(() -> query(url("&token=" + TOKEN), sql)), "read-only");
    }
  }

  @Test
  void badSqlIsReportedReadably() {
    String syntax = failure(() -> query(url("&token=" + TOKEN), "SELEC login FROM twitch.live.streams"));
    assertReadable(syntax, "syntax error");
    assertTrue(syntax.contains("SELEC"), syntax);
    String table = failure(() -> query(url("&token=" + TOKEN), "SELECT * FROM twitch.gold.no_such_table"));
    assertReadable(table, "no_such_table");
    String column = failure(() -> query(url("&token=" + TOKEN), "SELECT no_such_column FROM twitch.live.streams"));
    assertReadable(column, "no_such_column");
  }

  interface Call {
    void run() throws Exception;
  }

  static void query(String url, String sql) throws SQLException {
    try (Connection c = Jdbc.connect(url);
        Statement s = c.createStatement()) {
      s.executeQuery(sql).close();
    }
  }

  /** The message of the SQLException a call throws: what a JDBC tool shows its user. */
  static String failure(Call call) {
    SQLException e = assertThrows(SQLException.class, call::run);
    return e.getMessage();
  }

  /** The message names the problem and carries no transport internals or stack traces. */
  static void assertReadable(String msg, String expected) {
    System.out.println("error a JDBC user sees: " + msg);
    assertTrue(msg != null && msg.toLowerCase().contains(expected.toLowerCase()), "expected '" + expected + "' in: " + msg);
    for (String noise :
        List.of("io.grpc", "StatusRuntimeException", "\tat ", "Caused by", "ParserError(", "DataFusionError", "Status {", "tonic::", "MetadataMap", "Internal error", "h2 protocol")) {
      assertFalse(msg.contains(noise), "'" + noise + "' in: " + msg);
    }
    assertTrue(msg.length() < 600, "too long: " + msg);
  }
}
