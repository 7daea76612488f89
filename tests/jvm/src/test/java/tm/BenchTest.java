package tm;

import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.sum;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, not a test (tag "bench", run by scripts/jvm-bench): rows/s of one ten-million-row
 * {@code SELECT *} through the Flight SQL JDBC driver, through Spark's JDBC source, and through
 * ADBC (Python), against the same {@code serve}. Prints the figures side by side.
 */
@Tag("bench")
class BenchTest {
  static final long ROWS = Long.getLong("tm.bench.rows", 10_000_000L);
  static final String SQL =
      "SELECT * FROM (SELECT value AS id, value * 0.5 AS half, concat('user_', CAST(value AS VARCHAR)) AS login"
          + " FROM generate_series(1, " + ROWS + ") AS t(value))";
  static Tm.Server server;

  @BeforeAll
  static void start() {
    server = Lakes.serveQuietly(Tm.env(Tm.tempDir("tm-bench-lake").toString()));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void tenMillionRowsThroughEachClient() throws Exception {
    List<String> report = new ArrayList<>();
    // JDBC: every value read with its getter.
    for (int run = 0; run < 2; run++) {
      long start = System.nanoTime();
      long rows = 0;
      try (Connection c = Jdbc.connect(server.port());
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(SQL)) {
        while (rs.next()) {
          rs.getLong(1);
          rs.getDouble(2);
          rs.getString(3);
          rows++;
        }
      }
      assertEquals(ROWS, rows);
      report.add(line("Flight SQL JDBC driver (run " + (run + 1) + ")", rows, System.nanoTime() - start));
    }
    // Spark's JDBC source: one partition (Spark's default without a partition column), every row
    // turned into Spark rows and aggregated.
    for (int run = 0; run < 2; run++) {
      long start = System.nanoTime();
      Row r =
          Spark.session()
              .read()
              .format("jdbc")
              .option("driver", Jdbc.DRIVER)
              .option("url", Jdbc.url(server.port(), ""))
              .option("query", SQL)
              .load()
              .agg(sum("id"), sum("half"), max("login"))
              .first();
      assertEquals(ROWS * (ROWS + 1) / 2, r.getLong(0));
      report.add(line("Spark JDBC source (run " + (run + 1) + ")", ROWS, System.nanoTime() - start));
    }
    // ADBC (Python), batch by batch.
    String py = System.getProperty("tm.python");
    Path script = Path.of(System.getProperty("user.dir"), "..", "py", "adbc_rows.py").normalize();
    for (int run = 0; run < 2; run++) {
      Process p = new ProcessBuilder(py, script.toString(), String.valueOf(server.port()), SQL).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      assertEquals(0, p.waitFor(), out);
      String[] parts = out.split("\\s+");
      long rows = Long.parseLong(parts[parts.length - 2]);
      assertEquals(ROWS, rows);
      report.add(line("ADBC Flight SQL (Python) (run " + (run + 1) + ")", rows, (long) (Double.parseDouble(parts[parts.length - 1]) * 1e9)));
    }
    System.out.println();
    System.out.println("rows/s of: " + SQL);
    report.forEach(System.out::println);
  }

  private static String line(String what, long rows, long nanos) {
    double secs = nanos / 1e9;
    return String.format("  %-42s %,12d rows %7.2f s %,14.0f rows/s", what, rows, secs, rows / secs);
  }
}
