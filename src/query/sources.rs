//! The tables the catalog serves: every Delta table of the lake at its newest
//! committed version, and the live views (whose providers always read the
//! latest snapshot, so they are registered once).
use async_trait::async_trait;

use super::catalog::{SourceTable, TableSource};
use super::error::SourceError;
use crate::lake::Lake;
use crate::live::LiveViews;
use crate::schema::{Layer, Table};

/// The lake's tables plus the live views.
#[derive(Debug, Clone)]
pub struct LakeAndLive {
    /// The lake.
    pub lake: Lake,
    /// The live views.
    pub live: LiveViews,
}

#[async_trait]
impl TableSource for LakeAndLive {
    async fn tables(&self) -> Result<Vec<SourceTable>, SourceError> {
        let mut out = Vec::with_capacity(Table::ALL.len() + 5);
        for table in Table::ALL {
            let provider = self.lake.query_provider(table).await?;
            out.push(SourceTable::new(
                table.layer().as_str(),
                table.name(),
                provider,
            ));
        }
        for (name, provider) in self.live.views() {
            out.push(SourceTable::new(Layer::Live.as_str(), name, provider));
        }
        Ok(out)
    }
}

/// Another source's tables plus a few served beside them (a consumer's
/// in-memory table such as `live.alerts`, whose provider always reads its
/// current rows, so it is registered once).
#[derive(Debug)]
pub struct WithTables<S> {
    /// The source whose tables come first.
    pub source: S,
    /// The tables added to them.
    pub extra: Vec<SourceTable>,
}

#[async_trait]
impl<S: TableSource> TableSource for WithTables<S> {
    async fn tables(&self) -> Result<Vec<SourceTable>, SourceError> {
        let mut out = self.source.tables().await?;
        out.extend(self.extra.iter().cloned());
        Ok(out)
    }
}
