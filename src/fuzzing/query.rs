//! SQL text through the query policy and the planner, as a prepared
//! statement and as GetFlightInfo plans it.
use datafusion::common::ScalarValue;

use super::world::world;
use crate::query::rewrite_placeholders;

/// Plans `data` as SQL text: placeholder rewriting, the read-only policy,
/// logical planning with parameter types, then (parameters bound as a
/// client's `setInt` would) optimisation and physical planning. Nothing is
/// executed. Refusals and planning errors are the expected outcome of most
/// inputs; a panic is a bug.
pub fn sql(data: &[u8]) {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    // A prepared handle keeps the rewritten SQL, which is rewritten again
    // when the handle comes back: that must change nothing.
    if let Ok(once) = rewrite_placeholders(sql) {
        let twice = rewrite_placeholders(&once).ok();
        assert_eq!(
            twice.as_deref(),
            Some(once.as_str()),
            "rewriting twice differs"
        );
    }
    let world = world();
    world.block_on(async {
        let Ok(prepared) = world.engine.prepare(sql).await else {
            return;
        };
        let params = vec![ScalarValue::Int64(Some(1)); prepared.parameters.fields().len()];
        let _ = world.engine.schema(&prepared.sql, &params).await;
    });
}
