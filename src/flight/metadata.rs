//! Metadata commands: catalogs, schemas, tables (with LIKE filters, types and
//! optional Arrow schemas), table types, SQL info, XDBC types, and the key
//! commands, which are empty (the lake has no keys) but carry the spec's schemas.
use std::sync::{Arc, LazyLock};

use arrow_flight::sql::Command;
use arrow_flight::sql::metadata::{SqlInfoData, XdbcTypeInfoData};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::error::{Error, Result};
use crate::query::{CATALOG, QueryEngine, TableKind};

/// Schema of GetPrimaryKeys results (Flight SQL spec).
static PRIMARY_KEYS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
});

/// Schema of GetImportedKeys / GetExportedKeys / GetCrossReference results.
static FOREIGN_KEYS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("pk_catalog_name", DataType::Utf8, true),
        Field::new("pk_db_schema_name", DataType::Utf8, true),
        Field::new("pk_table_name", DataType::Utf8, false),
        Field::new("pk_column_name", DataType::Utf8, false),
        Field::new("fk_catalog_name", DataType::Utf8, true),
        Field::new("fk_db_schema_name", DataType::Utf8, true),
        Field::new("fk_table_name", DataType::Utf8, false),
        Field::new("fk_column_name", DataType::Utf8, false),
        Field::new("key_sequence", DataType::Int32, false),
        Field::new("fk_key_name", DataType::Utf8, true),
        Field::new("pk_key_name", DataType::Utf8, true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ]))
});

const TABLE_TYPES: [TableKind; 2] = [TableKind::Table, TableKind::View];

/// The result schema of a metadata command.
pub(crate) fn schema(
    sql_info: &SqlInfoData,
    xdbc: &XdbcTypeInfoData,
    command: &Command,
) -> Result<SchemaRef> {
    Ok(match command {
        Command::CommandGetCatalogs(c) => (*c).into_builder().schema(),
        Command::CommandGetDbSchemas(c) => c.clone().into_builder().schema(),
        Command::CommandGetTables(c) => c.clone().into_builder().schema(),
        Command::CommandGetTableTypes(c) => (*c).into_builder().schema(),
        Command::CommandGetSqlInfo(c) => c.clone().into_builder(sql_info).schema(),
        Command::CommandGetXdbcTypeInfo(c) => (*c).into_builder(xdbc).schema(),
        Command::CommandGetPrimaryKeys(_) => Arc::clone(&PRIMARY_KEYS),
        Command::CommandGetImportedKeys(_)
        | Command::CommandGetExportedKeys(_)
        | Command::CommandGetCrossReference(_) => Arc::clone(&FOREIGN_KEYS),
        other => {
            return Err(Error::BadRequest(format!(
                "not a metadata command: {}",
                other.type_url()
            )));
        }
    })
}

/// The (small, single-batch) result of a metadata command.
pub(crate) async fn batch(
    engine: &QueryEngine,
    sql_info: &SqlInfoData,
    xdbc: &XdbcTypeInfoData,
    command: &Command,
) -> Result<RecordBatch> {
    Ok(match command {
        Command::CommandGetCatalogs(c) => {
            let mut b = (*c).into_builder();
            b.append(CATALOG);
            b.build()?
        }
        Command::CommandGetDbSchemas(c) => {
            let mut b = c.clone().into_builder();
            for schema in engine.schema_names() {
                b.append(CATALOG, schema);
            }
            b.build()?
        }
        Command::CommandGetTables(c) => {
            let mut b = c.clone().into_builder();
            for t in engine.tables().await? {
                b.append(
                    CATALOG,
                    &t.schema,
                    &t.name,
                    t.kind.as_str(),
                    &t.arrow_schema,
                )?;
            }
            b.build()?
        }
        Command::CommandGetTableTypes(c) => {
            let mut b = (*c).into_builder();
            for kind in TABLE_TYPES {
                b.append(kind.as_str());
            }
            b.build()?
        }
        Command::CommandGetSqlInfo(c) => c.clone().into_builder(sql_info).build()?,
        Command::CommandGetXdbcTypeInfo(c) => (*c).into_builder(xdbc).build()?,
        Command::CommandGetPrimaryKeys(_) => RecordBatch::new_empty(Arc::clone(&PRIMARY_KEYS)),
        Command::CommandGetImportedKeys(_)
        | Command::CommandGetExportedKeys(_)
        | Command::CommandGetCrossReference(_) => RecordBatch::new_empty(Arc::clone(&FOREIGN_KEYS)),
        other => {
            return Err(Error::BadRequest(format!(
                "not a metadata command: {}",
                other.type_url()
            )));
        }
    })
}
