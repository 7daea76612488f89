//! Daily export settings: where each closed day goes (Slack, files in a
//! folder or object store, a Google Sheet) and how big its summary is.
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::resolved::declared_defaults;
use super::{ExportFormat, Result, Secret, invalid};

/// Daily exports: where each closed day's summary goes, and its size.
#[derive(Debug, Clone, Args)]
pub struct ExportSettings {
    /// Slack incoming-webhook URL the daily summary is posted to (never logged).
    #[arg(id = "export_slack_url", long = "export-slack-url")]
    #[arg(env = "TM_EXPORT_SLACK_URL", hide_env_values = true)]
    pub slack_url: Option<Secret>,
    /// Entries in each of the daily summary's top lists.
    #[arg(id = "export_top", long = "export-top", env = "TM_EXPORT_TOP")]
    #[arg(default_value = "5")]
    pub top: usize,
    /// Where each closed day's gold tables are written as files,
    /// `<dir>/<day>/<table>.<ext>`: a path or an object-store URL, as the lake.
    #[arg(id = "export_dir", long = "export-dir", env = "TM_EXPORT_DIR")]
    pub dir: Option<String>,
    /// File formats written to --export-dir, comma-separated.
    #[arg(
        id = "export_formats",
        long = "export-formats",
        env = "TM_EXPORT_FORMATS"
    )]
    #[arg(default_value = "csv,parquet,json", value_parser = formats)]
    pub formats: std::vec::Vec<ExportFormat>,
    /// Google Sheets: the spreadsheet id (from its URL, `/spreadsheets/d/<id>/`).
    #[arg(id = "export_sheets_id", long = "export-sheets-id")]
    #[arg(env = "TM_EXPORT_SHEETS_ID")]
    pub sheets_id: Option<String>,
    /// Google Sheets: the service account's JSON key file (share the sheet with its email).
    #[arg(id = "export_sheets_key", long = "export-sheets-key")]
    #[arg(env = "TM_EXPORT_SHEETS_KEY")]
    pub sheets_key: Option<PathBuf>,
    /// Google Sheets: the tab `gold.streamer_daily` rows are appended to.
    #[arg(id = "export_sheets_daily_tab", long = "export-sheets-daily-tab")]
    #[arg(env = "TM_EXPORT_SHEETS_DAILY_TAB", default_value = "streamer_daily")]
    pub sheets_daily_tab: String,
    /// Google Sheets: the tab one summary row per day is appended to.
    #[arg(id = "export_sheets_summary_tab", long = "export-sheets-summary-tab")]
    #[arg(env = "TM_EXPORT_SHEETS_SUMMARY_TAB", default_value = "summary")]
    pub sheets_summary_tab: String,
    /// Google Sheets API base URL.
    #[arg(id = "export_sheets_api_url", long = "export-sheets-api-url")]
    #[arg(env = "TM_EXPORT_SHEETS_API_URL")]
    #[arg(default_value = "https://sheets.googleapis.com/")]
    pub sheets_api_url: String,
    /// Google OAuth token endpoint (default: the key file's `token_uri`).
    #[arg(id = "export_sheets_token_url", long = "export-sheets-token-url")]
    #[arg(env = "TM_EXPORT_SHEETS_TOKEN_URL")]
    pub sheets_token_url: Option<String>,
}

impl Default for ExportSettings {
    fn default() -> Self {
        declared_defaults()
    }
}

/// A comma-separated list of file formats.
fn formats(s: &str) -> std::result::Result<Vec<ExportFormat>, String> {
    let parsed: std::result::Result<Vec<_>, String> = s
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            ExportFormat::from_str(f, true)
                .map_err(|_| format!("{f:?} is not a format (csv, parquet, json)"))
        })
        .collect();
    let mut parsed = parsed?;
    parsed.dedup();
    Ok(parsed)
}

impl ExportSettings {
    /// Checks the values that cannot work, alone or together.
    pub(super) fn validate(&self) -> Result<()> {
        if self.top == 0 {
            return Err(invalid("export-top", "must be at least 1"));
        }
        if self.dir.is_some() && self.formats.is_empty() {
            return Err(invalid("export-formats", "names no format"));
        }
        match (&self.sheets_id, &self.sheets_key) {
            (Some(_), None) => Err(invalid(
                "export-sheets-key",
                "is needed with --export-sheets-id (the service account's JSON key file)",
            )),
            (None, Some(_)) => Err(invalid(
                "export-sheets-id",
                "is needed with --export-sheets-key (the spreadsheet to append to)",
            )),
            _ => {
                let url = |name, v: &str| {
                    url::Url::parse(v)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .map(|_| ())
                        .ok_or_else(|| invalid(name, "must be an http:// or https:// URL"))
                };
                url("export-sheets-api-url", &self.sheets_api_url)?;
                if let Some(t) = &self.sheets_token_url {
                    url("export-sheets-token-url", t)?;
                }
                Ok(())
            }
        }
    }
}
