package tm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;

/**
 * A test CA and a server certificate for localhost/127.0.0.1 signed by it (openssl, as the Rust
 * TLS tests make theirs), and a PKCS#12 trust store holding the CA, as a JDBC user would build
 * with {@code keytool -importcert}.
 */
final class Certs {
  static final String TRUST_STORE_PASSWORD = "changeit-tests";

  final Path dir;

  private Certs(Path dir) {
    this.dir = dir;
  }

  Path cert() {
    return dir.resolve("server.pem");
  }

  Path key() {
    return dir.resolve("server.key");
  }

  Path trustStore() {
    return dir.resolve("truststore.p12");
  }

  static Certs make() throws Exception {
    Path dir = Tm.tempDir("tm-certs");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=twitch-monitor test CA");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    Files.writeString(dir.resolve("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf");
    Certs certs = new Certs(dir);
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    try (InputStream in = Files.newInputStream(dir.resolve("ca.pem"))) {
      store.setCertificateEntry("twitch-monitor-test-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    try (OutputStream out = Files.newOutputStream(certs.trustStore())) {
      store.store(out, TRUST_STORE_PASSWORD.toCharArray());
    }
    return certs;
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), () -> "openssl " + cmd + ": " + out);
  }
}
