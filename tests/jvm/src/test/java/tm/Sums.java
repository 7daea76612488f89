package tm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * An order-independent digest of a whole table: row count, and per column its type, null count and
 * a sum of value hashes, plus a sum of whole-row hashes (so values swapped between rows differ
 * too). The same digest is computed from a JDBC result set (each column read with the getter its
 * JDBC type calls for) and from a Spark DataFrame, so two readers of one table can be compared
 * exactly: doubles by their bits, timestamps as instants in microseconds, dates as days.
 */
final class Sums {
  final List<String> names = new ArrayList<>();
  final List<String> kinds = new ArrayList<>();
  long rows;
  long[] nulls;
  long[] hashes;
  long rowHash;

  private Sums(List<String> names, List<String> kinds) {
    this.names.addAll(names);
    this.kinds.addAll(kinds);
    nulls = new long[names.size()];
    hashes = new long[names.size()];
  }

  private void add(Object[] row) {
    rows++;
    long r = 17;
    for (int i = 0; i < row.length; i++) {
      long h = hash(row[i]);
      if (row[i] == null) {
        nulls[i]++;
      }
      hashes[i] += h;
      r = r * 0x100000001B3L + h;
    }
    rowHash += mix(r);
  }

  /** Fails with a per-column report unless the two digests agree exactly. */
  static void assertSame(Sums expected, Sums actual, String what) {
    assertEquals(expected.names, actual.names, what + ": columns");
    assertEquals(expected.kinds, actual.kinds, what + ": column types");
    assertEquals(expected.rows, actual.rows, what + ": row count");
    for (int i = 0; i < expected.names.size(); i++) {
      String col = what + "." + expected.names.get(i);
      assertEquals(expected.nulls[i], actual.nulls[i], col + ": nulls");
      assertEquals(expected.hashes[i], actual.hashes[i], col + ": checksum");
    }
    assertEquals(expected.rowHash, actual.rowHash, what + ": row checksum");
  }

  @Override
  public String toString() {
    return rows + " rows " + names + " " + kinds;
  }

  // ---- JDBC ----

  /** The digest of a result set, read to the end with each column's matching getter. */
  static Sums of(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    int n = md.getColumnCount();
    List<String> names = new ArrayList<>();
    List<String> kinds = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      names.add(md.getColumnName(i));
      kinds.add(jdbcKind(md.getColumnType(i)));
    }
    Sums sums = new Sums(names, kinds);
    Object[] row = new Object[n];
    while (rs.next()) {
      for (int i = 1; i <= n; i++) {
        row[i - 1] = read(rs, i, kinds.get(i - 1));
      }
      sums.add(row);
    }
    return sums;
  }

  static String jdbcKind(int type) {
    return switch (type) {
      case Types.BIGINT -> "bigint";
      case Types.INTEGER -> "int";
      case Types.DOUBLE -> "double";
      case Types.VARCHAR, Types.LONGVARCHAR -> "varchar";
      case Types.BOOLEAN, Types.BIT -> "boolean";
      case Types.DATE -> "date";
      case Types.TIMESTAMP_WITH_TIMEZONE -> "timestamptz";
      case Types.TIMESTAMP -> "timestamp";
      case Types.ARRAY -> "array";
      default -> "jdbc-type-" + type;
    };
  }

  /** One value as the digest sees it, read with the getter a JDBC user calls for its type. */
  static Object read(ResultSet rs, int i, String kind) throws SQLException {
    Object v =
        switch (kind) {
          case "bigint" -> rs.getLong(i);
          case "int" -> (long) rs.getInt(i);
          case "double" -> rs.getDouble(i);
          case "varchar" -> rs.getString(i);
          case "boolean" -> rs.getBoolean(i);
          case "date" -> {
            java.sql.Date d = rs.getDate(i);
            yield d == null ? null : d.toLocalDate();
          }
          // JDBC 4.2's getter for TIMESTAMP WITH TIME ZONE. (Driver 18.3's getTimestamp is
          // right only in a JVM running in UTC, and its getObject(i) throws for this type.)
          case "timestamptz" -> {
            OffsetDateTime t = rs.getObject(i, OffsetDateTime.class);
            yield t == null ? null : t.toInstant();
          }
          case "timestamp" -> {
            Timestamp t = rs.getTimestamp(i);
            yield t == null ? null : t.toInstant();
          }
          case "array" -> {
            Array a = rs.getArray(i);
            if (a == null) {
              yield null;
            }
            Object[] items = (Object[]) a.getArray();
            List<String> out = new ArrayList<>();
            for (Object o : items) {
              out.add(o == null ? null : o.toString());
            }
            yield out;
          }
          default -> rs.getObject(i);
        };
    return rs.wasNull() ? null : v;
  }

  // ---- Spark ----

  /** The digest of a DataFrame (streamed to the driver partition by partition). */
  static Sums of(Dataset<Row> df) {
    StructField[] fields = df.schema().fields();
    List<String> names = new ArrayList<>();
    List<String> kinds = new ArrayList<>();
    for (StructField f : fields) {
      names.add(f.name());
      kinds.add(sparkKind(f.dataType()));
    }
    Sums sums = new Sums(names, kinds);
    Object[] row = new Object[fields.length];
    for (Iterator<Row> it = df.toLocalIterator(); it.hasNext(); ) {
      Row r = it.next();
      for (int i = 0; i < fields.length; i++) {
        row[i] = r.isNullAt(i) ? null : sparkValue(r, i, kinds.get(i));
      }
      sums.add(row);
    }
    return sums;
  }

  static String sparkKind(DataType t) {
    if (t.equals(DataTypes.LongType)) {
      return "bigint";
    } else if (t.equals(DataTypes.IntegerType)) {
      return "int";
    } else if (t.equals(DataTypes.DoubleType)) {
      return "double";
    } else if (t.equals(DataTypes.StringType)) {
      return "varchar";
    } else if (t.equals(DataTypes.BooleanType)) {
      return "boolean";
    } else if (t.equals(DataTypes.DateType)) {
      return "date";
    } else if (t.equals(DataTypes.TimestampType)) {
      // Spark's TIMESTAMP is an instant (what SQL calls WITH TIME ZONE).
      return "timestamptz";
    } else if (t.equals(DataTypes.TimestampNTZType)) {
      return "timestamp";
    } else if (t instanceof ArrayType a && a.elementType().equals(DataTypes.StringType)) {
      return "array";
    }
    return "spark-type-" + t.simpleString();
  }

  private static Object sparkValue(Row r, int i, String kind) {
    return switch (kind) {
      case "bigint" -> r.getLong(i);
      case "int" -> (long) r.getInt(i);
      case "double" -> r.getDouble(i);
      case "varchar" -> r.getString(i);
      case "boolean" -> r.getBoolean(i);
      case "date" -> r.getLocalDate(i);
      case "timestamptz", "timestamp" -> r.getInstant(i);
      case "array" -> new ArrayList<>(r.<String>getList(i));
      default -> r.get(i);
    };
  }

  // ---- hashing ----

  static long hash(Object v) {
    if (v == null) {
      return 0x51AF_D7ED_558C_CD1DL;
    } else if (v instanceof Long l) {
      return mix(l ^ 0x1000);
    } else if (v instanceof Double d) {
      return mix(Double.doubleToLongBits(d) ^ 0x2000);
    } else if (v instanceof Boolean b) {
      return mix(b ? 0x3001 : 0x3000);
    } else if (v instanceof String s) {
      return mix(fnv(s.getBytes(StandardCharsets.UTF_8)) ^ 0x4000);
    } else if (v instanceof LocalDate d) {
      return mix(d.toEpochDay() ^ 0x5000);
    } else if (v instanceof Instant t) {
      return mix(ChronoUnit.MICROS.between(Instant.EPOCH, t) ^ 0x6000);
    } else if (v instanceof List<?> l) {
      long h = 0x7000;
      for (Object o : l) {
        h = h * 31 + hash(o);
      }
      return mix(h + l.size());
    }
    throw new IllegalArgumentException("no digest for " + v.getClass() + ": " + v);
  }

  private static long fnv(byte[] bytes) {
    long h = 0xCBF2_9CE4_8422_2325L;
    for (byte b : bytes) {
      h = (h ^ (b & 0xff)) * 0x100000001B3L;
    }
    return h;
  }

  /** SplitMix64's finaliser: spreads every input bit over the output. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }

}
