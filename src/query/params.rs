//! Positional parameters (`$1`, `$2`, …): their types as the plan infers
//! them, and binding client values to them.
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::expr::Placeholder;
use datafusion::logical_expr::{Expr, LogicalPlan};

use super::stream::client_schema;
use super::{Error, Result};

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The type each placeholder of `plan` is used as (`None`: not inferred).
/// Like DataFusion's `LogicalPlan::get_parameter_types`, except that one
/// placeholder used as two string types (`$1 = ''` beside `login = $1`, a
/// `Utf8` literal beside a `Utf8View` column) is a string, `Utf8`, instead of
/// an error: the value bound replaces every use, and DataFusion's type
/// coercion then compares it with each side as for any literal.
fn parameter_types(plan: &LogicalPlan) -> Result<HashMap<String, Option<DataType>>> {
    let mut types: HashMap<String, Option<DataType>> = HashMap::new();
    let mut conflict = None;
    plan.apply_with_subqueries(|plan| {
        plan.apply_expressions(|expr| {
            expr.apply(|expr| {
                if let Expr::Placeholder(Placeholder { id, field }) = expr {
                    let t = field.as_ref().map(|f| f.data_type().clone());
                    match (types.entry(id.clone()), t) {
                        (Entry::Vacant(e), t) => {
                            e.insert(t);
                        }
                        (Entry::Occupied(mut e), Some(t)) => match e.get() {
                            None => {
                                e.insert(Some(t));
                            }
                            Some(prev) if prev == &t => {}
                            Some(prev) if is_string(prev) && is_string(&t) => {
                                e.insert(Some(DataType::Utf8));
                            }
                            Some(prev) => {
                                conflict.get_or_insert_with(|| {
                                    format!(
                                        "parameter {id} is used as both {prev} and {t}; \
                                         cast it where it is used (e.g. CAST({id} AS BIGINT))"
                                    )
                                });
                            }
                        },
                        (Entry::Occupied(_), None) => {}
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    match conflict {
        Some(message) => Err(Error::InvalidSql(message)),
        None => Ok(types),
    }
}

/// The parameters of `plan` as a schema: `$1`, `$2`, ... in order.
pub(super) fn parameter_schema(plan: &LogicalPlan) -> Result<SchemaRef> {
    let types = parameter_types(plan)?;
    let mut params: Vec<(String, Option<DataType>)> = types.into_iter().collect();
    params.sort_by_key(|(name, _)| placeholder_index(name));
    let fields: Vec<Field> = params
        .into_iter()
        .map(|(name, t)| {
            let t = t.map(|t| client_schema(&Schema::new(vec![Field::new("", t, true)])));
            let t = t.map_or(DataType::Utf8, |s| s.field(0).data_type().clone());
            Field::new(name, t, true)
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// `$3` → 3; named placeholders sort last.
fn placeholder_index(name: &str) -> usize {
    name.strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// Binds positional values, cast to the types the plan expects for them.
pub(super) fn bind(plan: LogicalPlan, params: &[ScalarValue]) -> Result<LogicalPlan> {
    let types = parameter_types(&plan)?;
    if types.is_empty() && params.is_empty() {
        return Ok(plan);
    }
    if types.len() != params.len() {
        return Err(Error::InvalidSql(format!(
            "the statement has {} parameter(s) but {} value(s) were bound",
            types.len(),
            params.len()
        )));
    }
    let values = params
        .iter()
        .enumerate()
        .map(|(i, value)| match types.get(&format!("${}", i + 1)) {
            Some(Some(t)) if t != &value.data_type() && !value.is_null() => {
                value.cast_to(t).map_err(|e| {
                    Error::InvalidSql(format!("parameter ${} cannot be used as {t}: {e}", i + 1))
                })
            }
            Some(Some(t)) if value.is_null() => ScalarValue::try_from(t).map_err(Error::from),
            _ => Ok(value.clone()),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(plan.with_param_values(values)?)
}
