package tm;

import java.sql.Types;
import org.apache.spark.sql.jdbc.JdbcDialect;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MetadataBuilder;
import scala.Option;

/**
 * What Spark's JDBC source needs to read twitch-monitor through the Flight SQL JDBC driver (18.3),
 * the dialect the README shows: Spark 4.0 has no mapping of its own for {@code
 * TIMESTAMP_WITH_TIMEZONE} or a generic {@code ARRAY}, and the driver reports every column
 * unsigned, which Spark turns into {@code DECIMAL(20,0)} for {@code BIGINT}.
 */
final class FlightSqlDialect extends JdbcDialect {
  @Override
  public boolean canHandle(String url) {
    return url.startsWith("jdbc:arrow-flight-sql:");
  }

  @Override
  public Option<DataType> getCatalystType(int sqlType, String typeName, int size, MetadataBuilder md) {
    return switch (sqlType) {
      case Types.BIGINT -> Option.apply(DataTypes.LongType);
      case Types.TIMESTAMP_WITH_TIMEZONE -> Option.apply(DataTypes.TimestampType);
      // The contract's only lists are list<string> (tags).
      case Types.ARRAY -> Option.apply(DataTypes.createArrayType(DataTypes.StringType));
      default -> Option.empty();
    };
  }
}
