//! Delivery targets as written in TOML → checked [`Target`]s. Secrets
//! (webhook URLs, signing secrets) come literally or from environment
//! variables, and never appear in an error.
use serde::Deserialize;

use super::parse::label;
use super::{Error, Result};
use crate::config::Secret;
use crate::notify::{Target, TargetKind};

/// A target as written. Secrets come literally or from an environment
/// variable (`*_env`), so a rule file can be committed without them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Option<String>,
    kind: Option<TargetKind>,
    url: Option<Secret>,
    url_env: Option<String>,
    secret: Option<Secret>,
    secret_env: Option<String>,
}

/// Parses target number `i` (0-based), resolving `*_env` through `env`.
pub(super) fn target(
    i: usize,
    value: toml::Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target> {
    let name = label(i, &value);
    let err = |m: String| Error::Target {
        target: name.clone(),
        message: m,
    };
    let raw: RawTarget = value
        .try_into()
        .map_err(|e: toml::de::Error| err(e.message().trim().to_owned()))?;
    if raw.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(err("`name` is required".into()));
    }
    let kind = raw
        .kind
        .ok_or_else(|| err("`kind` is required (slack, discord or webhook)".into()))?;
    let secret_from =
        |field: &str, literal: Option<Secret>, var: Option<String>| match (literal, var) {
            (Some(_), Some(_)) => Err(err(format!("give `{field}` or `{field}_env`, not both"))),
            (Some(s), None) => Ok(Some(s)),
            (None, Some(var)) => env(&var)
                .filter(|v| !v.is_empty())
                .map(|v| Some(Secret::from(v.as_str())))
                .ok_or_else(|| {
                    err(format!(
                        "environment variable {var} (`{field}_env`) is not set"
                    ))
                }),
            (None, None) => Ok(None),
        };
    let url = secret_from("url", raw.url, raw.url_env)?
        .ok_or_else(|| err("needs `url` or `url_env`".into()))?;
    let secret = secret_from("secret", raw.secret, raw.secret_env)?;
    Target::new(name.clone(), kind, &url, secret).map_err(|e| match e {
        crate::notify::Error::InvalidTarget { message, .. } => err(message),
        other => err(other.to_string()),
    })
}
