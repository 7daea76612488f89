//! Reads pinned to one moment of the catalog: every statement a [`Pinned`]
//! runs reads the tables as they were when it was taken, however many
//! refreshes come meanwhile, so a reader that asks several questions gets
//! answers of one moment without retrying.
use std::sync::Arc;

use datafusion::catalog::{CatalogProviderList, MemoryCatalogProviderList};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::session_state::SessionState;

use super::CATALOG;
use super::catalog::LakeCatalog;

/// The catalog as of one refresh, and values that table providers read from
/// the session (`SessionConfig` extensions; the live views pin their snapshot
/// this way). Taken with [`super::QueryEngine::pin`], used with
/// [`super::QueryEngine::execute_pinned`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub(super) state: Arc<SessionState>,
}

impl Pinned {
    pub(super) fn new(base: SessionState, catalog: &LakeCatalog) -> Self {
        let catalogs = MemoryCatalogProviderList::new();
        catalogs.register_catalog(CATALOG.to_owned(), Arc::new(catalog.fixed()));
        let state = SessionStateBuilder::new_from_existing(base)
            .with_catalog_list(Arc::new(catalogs))
            .build();
        Self {
            state: Arc::new(state),
        }
    }

    /// This moment with `value` in the session, for the table providers
    /// that look for a `T` there (`SessionConfig::get_extension`).
    pub fn with_extension<T: Send + Sync + 'static>(self, value: Arc<T>) -> Self {
        let mut state = Arc::unwrap_or_clone(self.state);
        state.config_mut().set_extension(value);
        Self {
            state: Arc::new(state),
        }
    }
}
