//! The TOML config file through the same layering and checks as at start-up,
//! and its `[alerts]` section through the alerts parser.
use std::path::Path;

use crate::alerts::AlertsConfig;
use crate::config::Settings;

/// Reads `data` as the config file's text over default settings (no flags,
/// no environment): TOML parsing, every value through its flag's parser,
/// the checks of the resolved configuration, then the alert rules and
/// targets of an `[alerts]` section (`*_env` secrets resolve to nothing).
pub fn config(data: &[u8]) {
    // The server reads the file as UTF-8 and refuses anything else.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Some((Path::new("fuzz.toml"), text));
    let Ok(config) = Settings::default().resolve_with(file) else {
        return;
    };
    if let Some(section) = config.alerts.inline {
        let _ = AlertsConfig::from_table(section.0, &|_| None);
    }
}
