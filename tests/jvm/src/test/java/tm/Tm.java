package tm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The twitch-monitor binary under test (path in the {@code tm.bin} system property), run the way a
 * user runs it: {@code serve}, {@code ingest --once}, {@code maintain}, configured through the
 * environment, on 127.0.0.1 port 0.
 */
final class Tm {
  private static final Pattern ANSI = Pattern.compile("\u001B\\[[;\\d]*m");
  private static final Pattern FLIGHT = Pattern.compile("Flight SQL on grpc(?:\\+tls)?://([\\d.]+):(\\d+)");

  private Tm() {}

  static Path bin() {
    String bin = System.getProperty("tm.bin");
    if (bin == null || !Files.isExecutable(Path.of(bin))) {
      fail("no twitch-monitor binary at -Dtm.bin=" + bin + " (run cargo build first)");
    }
    return Path.of(bin);
  }

  /** The environment of every run: the simulator on {@code lake}, loopback ports chosen by the OS. */
  static Map<String, String> env(String lake) {
    Map<String, String> env = new HashMap<>();
    env.put("TM_LAKE", lake);
    env.put("TM_FLIGHT_ADDR", "127.0.0.1:0");
    env.put("TM_HTTP_ADDR", "127.0.0.1:0");
    env.put("TM_SIM_CHANNELS", "80");
    // Every channel live when each process starts, whatever the real hour: the simulated world
    // follows a daily rhythm, and 80 channels at its trough may have none live.
    env.put("TM_SIM_ALL_LIVE", "true");
    env.put("NO_COLOR", "1");
    return env;
  }

  private static ProcessBuilder builder(Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(bin().toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> e = pb.environment();
    // Never the developer's Twitch credentials or log settings.
    e.keySet().removeIf(k -> k.startsWith("TWITCH_") || k.startsWith("TM_") || k.equals("RUST_LOG"));
    e.putAll(env);
    return pb;
  }

  /** Runs a command to completion (bounded) and returns its output; fails on a non-zero exit. */
  static String run(Map<String, String> env, String... args) {
    try {
      Path out = Files.createTempFile("tm-run", ".log");
      Process p = builder(env, args).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        fail("twitch-monitor " + String.join(" ", args) + " did not finish in 10 minutes");
      }
      String text = strip(Files.readString(out));
      Files.delete(out);
      assertEquals(0, p.exitValue(), () -> "twitch-monitor " + String.join(" ", args) + " failed:\n" + text);
      return text;
    } catch (IOException e) {
      throw new RuntimeException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }

  static String strip(String line) {
    return ANSI.matcher(line).replaceAll("");
  }

  /** Starts {@code serve} and waits (bounded) until it logs its Flight SQL address. */
  static Server serve(Map<String, String> env) {
    try {
      Process p = builder(env, "serve").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      Server s = new Server(p);
      String line = s.await(l -> FLIGHT.matcher(l).find(), Duration.ofMinutes(2), "the Flight SQL address");
      Matcher m = FLIGHT.matcher(line);
      m.find();
      s.port = Integer.parseInt(m.group(2));
      return s;
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }

  /** A running {@code serve}: its log lines, its Flight SQL port; SIGTERM on close. */
  static final class Server implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private int port;
    private int cycles;

    private Server(Process process) {
      this.process = process;
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                  for (String l; (l = r.readLine()) != null; ) {
                    String line = strip(l);
                    synchronized (lines) {
                      lines.add(line);
                      if (line.contains(" cycle ") && line.contains(" streams, ")) {
                        cycles++;
                      }
                      lines.notifyAll();
                    }
                  }
                } catch (IOException e) {
                  // The process went away; waiters see it through isAlive().
                }
                synchronized (lines) {
                  lines.notifyAll();
                }
              },
              "tm-serve-log");
      reader.setDaemon(true);
      reader.start();
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
    }

    int port() {
      return port;
    }

    /** The log so far. */
    List<String> lines() {
      synchronized (lines) {
        return new ArrayList<>(lines);
      }
    }

    /** Waits until a log line matches, failing after {@code max} or if the server exits. */
    String await(Predicate<String> match, Duration max, String what) {
      long deadline = System.nanoTime() + max.toNanos();
      int seen = 0;
      synchronized (lines) {
        while (true) {
          for (; seen < lines.size(); seen++) {
            if (match.test(lines.get(seen))) {
              return lines.get(seen);
            }
          }
          long left = deadline - System.nanoTime();
          if (left <= 0 || (!process.isAlive() && seen == lines.size())) {
            fail("serve: no " + what + " within " + max + (process.isAlive() ? "" : " (exited)") + ":\n" + String.join("\n", lines));
          }
          try {
            lines.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
          }
        }
      }
    }

    /** Waits until {@code n} ingest cycles have finished since start. */
    void awaitCycles(int n, Duration max) {
      long deadline = System.nanoTime() + max.toNanos();
      synchronized (lines) {
        while (cycles < n) {
          long left = deadline - System.nanoTime();
          if (left <= 0 || !process.isAlive()) {
            fail("serve: " + cycles + " of " + n + " cycles within " + max + ":\n" + String.join("\n", lines));
          }
          lines.stream()
              .filter(l -> l.contains("ERROR") && l.contains("twitch_monitor"))
              .findFirst()
              .ifPresent(l -> fail("serve logged an error: " + l));
          try {
            lines.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
          }
        }
      }
    }

    int cycles() {
      synchronized (lines) {
        return cycles;
      }
    }

    /** SIGKILL: the process dies wherever it is. */
    void kill9() {
      process.destroyForcibly();
      waitExit();
    }

    /** SIGTERM, then waits for the clean stop. */
    @Override
    public void close() {
      if (process.isAlive()) {
        process.destroy();
        waitExit();
      }
    }

    private void waitExit() {
      try {
        if (!process.waitFor(1, TimeUnit.MINUTES)) {
          process.destroyForcibly();
          process.waitFor(1, TimeUnit.MINUTES);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A fresh temporary directory, deleted when the JVM exits. */
  static Path tempDir(String prefix) {
    try {
      Path dir = Files.createTempDirectory(prefix);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
      return dir;
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }

  static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort at exit.
    }
  }
}
