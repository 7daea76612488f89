package tm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The lake on S3 (moto): the binary writes it through {@code TM_LAKE=s3://…} and the usual AWS
 * variables, Spark reads it through S3A, and every table matches what Flight SQL answers.
 */
@Tag("spark")
class SparkS3Test {
  static Moto moto;
  static Tm.Server server;

  @BeforeAll
  static void setUp() throws Exception {
    moto = Moto.start();
    moto.createBucket("lake");
    Map<String, String> env = Tm.env("s3://lake/twitch");
    env.putAll(moto.awsEnv());
    Tm.run(env, "ingest", "--once");
    Tm.run(env, "ingest", "--once");
    server = Lakes.serveQuietly(env);
    moto.configure(Spark.session());
  }

  @AfterAll
  static void tearDown() {
    if (server != null) {
      server.close();
    }
    if (moto != null) {
      moto.close();
    }
  }

  @Test
  void everyTableOnS3MatchesFlightSql() throws Exception {
    try (Connection conn = Jdbc.connect(server.port())) {
      List<String> tables = Jdbc.lakeTables(conn);
      assertTrue(tables.size() >= 14, tables::toString);
      for (String t : tables) {
        Sums spark = Sums.of(Spark.delta("s3a://lake/twitch", t));
        System.out.println("spark (s3a) vs flight " + t + ": " + spark);
        Sums.assertSame(Jdbc.sums(conn, "SELECT * FROM twitch." + t), spark, "s3 " + t);
      }
      assertTrue(Spark.delta("s3a://lake/twitch", "silver.stream_snapshots").count() > 0);
    }
  }
}
