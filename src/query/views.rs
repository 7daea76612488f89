//! One string type across the catalog: `Utf8View`.
//!
//! The lake's tables are read with view types (faster scans and group-bys,
//! see `Lake::query_provider`), while the live views and other in-memory
//! tables hold plain `Utf8`. DataFusion infers one type per placeholder, so
//! a statement using `$1` against both (the dashboard's streamer page does)
//! failed with "Conflicting types for id $1". Every table whose schema still
//! has `Utf8`/`LargeUtf8` columns is served through [`view_types`], which
//! shows them as `Utf8View` and casts at the scan (a view of each value, no
//! copy of the text). Clients still receive `Utf8` (see `client_schema`).
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;

/// `inner` with its top-level string columns shown as `Utf8View`; `inner`
/// itself when it has none.
pub(crate) fn view_types(inner: Arc<dyn TableProvider>) -> Arc<dyn TableProvider> {
    crate::lake::cast_columns(inner, |t| {
        matches!(t, DataType::Utf8 | DataType::LargeUtf8).then_some(DataType::Utf8View)
    })
}
