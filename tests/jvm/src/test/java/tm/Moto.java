package tm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A local S3: moto's server from the test venv ({@code tm.python}) on 127.0.0.1, on a port it
 * picks itself and reports in its banner; stopped on close.
 */
final class Moto implements AutoCloseable {
  private final Process process;
  final String endpoint;

  private Moto(Process process, String endpoint) {
    this.process = process;
    this.endpoint = endpoint;
  }

  /** tests/py/moto_server.py; Maven runs the tests in tests/jvm. */
  private static String script() {
    return java.nio.file.Path.of(System.getProperty("user.dir"), "..", "py", "moto_server.py")
        .normalize()
        .toString();
  }

  static Moto start() throws Exception {
    String python = System.getProperty("tm.python");
    if (python == null || python.isEmpty()) {
      fail("no -Dtm.python (the test venv's python, with moto[server]; run scripts/venv)");
    }
    Process p =
        // tests/py/moto_server.py: moto with atomic conditional writes (see there).
        new ProcessBuilder(python, script(), "-H", "127.0.0.1", "-p", "0")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
    CompletableFuture<String> address = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              // Keeps draining after the banner: moto logs every request to stderr.
              try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  int at = line.indexOf("Running on http://");
                  if (at >= 0) {
                    address.complete(line.substring(at + "Running on ".length()).trim());
                  }
                }
              } catch (IOException e) {
                // moto stopped.
              }
              address.completeExceptionally(new IllegalStateException("moto exited without an address"));
            },
            "moto-log");
    reader.setDaemon(true);
    reader.start();
    // Generous: moto imports a lot of Python on a cold cache.
    String endpoint = address.get(2, TimeUnit.MINUTES);
    return new Moto(p, endpoint);
  }

  /** Creates a bucket with a plain (unsigned) PUT, which moto accepts. */
  void createBucket(String bucket) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(endpoint + "/" + bucket)).PUT(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    assertTrue(r.statusCode() / 100 == 2, "create bucket: " + r.statusCode() + " " + r.body());
  }

  /** The usual AWS variables, pointing the binary at this server. */
  Map<String, String> awsEnv() {
    return Map.of(
        "AWS_ENDPOINT_URL", endpoint,
        "AWS_ALLOW_HTTP", "true",
        "AWS_ACCESS_KEY_ID", "test",
        "AWS_SECRET_ACCESS_KEY", "test",
        "AWS_REGION", "us-east-1");
  }

  /** Points Spark's S3A file system at this server. */
  void configure(org.apache.spark.sql.SparkSession spark) {
    var conf = spark.sparkContext().hadoopConfiguration();
    conf.set("fs.s3a.endpoint", endpoint);
    conf.set("fs.s3a.endpoint.region", "us-east-1");
    conf.set("fs.s3a.path.style.access", "true");
    conf.set("fs.s3a.connection.ssl.enabled", "false");
    conf.set("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    conf.set("fs.s3a.access.key", "test");
    conf.set("fs.s3a.secret.key", "test");
  }

  @Override
  public void close() {
    process.destroy();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process.destroyForcibly();
  }
}
