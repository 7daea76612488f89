package tm;

import java.nio.file.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * One local Spark session with Delta Lake for the whole test JVM (starting Spark takes seconds and
 * about a gigabyte): two cores, few shuffle partitions, no UI, UTC, java.time values.
 */
final class Spark {
  private static SparkSession session;

  private Spark() {}

  static synchronized SparkSession session() {
    if (session == null) {
      Path warehouse = Tm.tempDir("tm-spark-warehouse");
      session =
          SparkSession.builder()
              .master("local[2]")
              .appName("twitch-monitor-tests")
              .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
              .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
              .config("spark.sql.shuffle.partitions", "2")
              // Delta rebuilds each snapshot's state in 50 partitions by default: 50 tasks for a
              // log of a few dozen commits.
              .config("spark.databricks.delta.snapshotPartitions", "2")
              .config("spark.default.parallelism", "2")
              .config("spark.ui.enabled", "false")
              .config("spark.driver.host", "127.0.0.1")
              .config("spark.driver.bindAddress", "127.0.0.1")
              .config("spark.sql.session.timeZone", "UTC")
              .config("spark.sql.datetime.java8API.enabled", "true")
              .config("spark.sql.warehouse.dir", warehouse.toString())
              .getOrCreate();
      session.sparkContext().setLogLevel("WARN");
      org.apache.spark.sql.jdbc.JdbcDialects.registerDialect(new FlightSqlDialect());
      Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
    }
    return session;
  }

  /** The Delta table at {@code location/layer/name}, as Databricks would read it. */
  static Dataset<Row> delta(String lake, String table) {
    return session().read().format("delta").load(path(lake, table));
  }

  /** {@code <lake>/<layer>/<table>} for {@code layer.table}. */
  static String path(String lake, String table) {
    return lake + "/" + table.replace('.', '/');
  }
}
