use std::time::Duration;

use crate::alerts::{AlertsConfig, Condition, Direction, Error, RuleKind};
use crate::notify::TargetKind;

fn parse(text: &str) -> Result<AlertsConfig, Error> {
    let env = |name: &str| (name == "HOOK_SECRET").then(|| "0123456789abcdef0123".to_owned());
    AlertsConfig::from_table(toml::from_str(text).unwrap(), &env)
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn every_kind_parses_with_defaults() {
    let cfg = parse(
        r#"
        [[targets]]
        name = "ops"
        kind = "slack"
        url = "https://hooks.slack.com/services/T/B/X"
        [[targets]]
        name = "hook"
        kind = "webhook"
        url = "http://127.0.0.1:9/alerts"
        secret_env = "HOOK_SECRET"

        [[rules]]
        name = "live"
        kind = "went_live"
        channels = ["Shroud"]
        [[rules]]
        name = "off"
        kind = "went_offline"
        grace = "5m"
        targets = ["hook"]
        [[rules]]
        name = "drop"
        kind = "viewers_drop"
        percent = 50
        categories = ["Just Chatting"]
        languages = ["DE"]
        [[rules]]
        name = "raid"
        kind = "viewers_gain"
        by = 1000
        window = "5m"
        [[rules]]
        name = "follows"
        kind = "followers_gain"
        by = 5000
        [[rules]]
        name = "unfollows"
        kind = "followers_loss"
        percent = 5
        [[rules]]
        name = "top"
        kind = "top_n"
        n = 10
        [[rules]]
        name = "star"
        kind = "rising_star"
        [[rules]]
        name = "sour"
        kind = "chat_sentiment"
        below = -0.3
        [[rules]]
        name = "chatty"
        kind = "chat_rate"
        percent = 200
        direction = "up"
        [[rules]]
        name = "sql"
        kind = "sql"
        query = "SELECT user_id, login FROM live.streams WHERE viewer_count > 100000"
        "#,
    )
    .unwrap();
    let kinds: Vec<RuleKind> = cfg.rules.rules().iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, RuleKind::ALL);
    let live = &cfg.rules.rules()[0];
    assert_eq!(live.scope.channels, vec!["shroud"]);
    assert_eq!(live.cooldown, Duration::from_secs(3600));
    // No `targets`: every target. Explicit: only those.
    assert_eq!(live.targets, vec!["ops", "hook"]);
    assert_eq!(cfg.rules.get("off").unwrap().targets, vec!["hook"]);
    match &cfg.rules.get("drop").unwrap().condition {
        Condition::Viewers {
            direction,
            change,
            window,
            min_viewers,
            ..
        } => {
            assert_eq!(*direction, Direction::Down);
            assert_eq!(change.percent, Some(50.0));
            assert_eq!(change.by, None);
            assert_eq!(*window, Duration::from_secs(600));
            assert_eq!(*min_viewers, 50);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cfg.rules.get("top").unwrap().condition,
        Condition::TopN { n: 10, margin: 2 }
    );
    assert_eq!(cfg.targets[1].kind(), TargetKind::Webhook);
    // Secrets stay out of Debug.
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("hooks.slack.com") && !shown.contains("0123456789abcdef"));
}

#[test]
fn mistakes_are_refused_naming_the_rule_and_the_problem() {
    let cases = [
        (
            "[[rules]]\nname = \"d\"\nkind = \"viewers_drop\"",
            "alert rule \"d\": needs `percent`, `by` or both",
        ),
        (
            "[[rules]]\nname = \"d\"\nkind = \"viewers_drop\"\npercent = 150",
            "alert rule \"d\": `percent` must be above 0 and at most 100",
        ),
        (
            "[[rules]]\nname = \"l\"\nkind = \"went_live\"\npercent = 5",
            "alert rule \"l\": `percent` does not apply to kind went_live",
        ),
        (
            "[[rules]]\nname = \"x\"\nkind = \"viewer_drop\"",
            "alert rule \"x\": unknown kind \"viewer_drop\" (one of went_live,",
        ),
        (
            "[[rules]]\nkind = \"went_live\"",
            "alert rule \"#1 (no name)\": `name` is required",
        ),
        (
            "[[rules]]\nname = \"w\"\nkind = \"viewers_gain\"\nby = 10\nwindow = \"10 parsecs\"",
            "alert rule \"w\": `window`: \"10 parsecs\" is not a duration",
        ),
        (
            "[[rules]]\nname = \"t\"\nkind = \"went_live\"\nwindow = \"3m\"",
            "alert rule \"t\": `window` does not apply to kind went_live",
        ),
        (
            "[[rules]]\nname = \"t\"\nkind = \"went_live\"\nwhatever = 3",
            "alert rule \"t\": unknown field `whatever`",
        ),
        (
            "[[rules]]\nname = \"s\"\nkind = \"sql\"",
            "alert rule \"s\": needs `query`",
        ),
        (
            "[[rules]]\nname = \"s\"\nkind = \"sql\"\nquery = \"SELECT 1\"\nchannels = [\"a\"]",
            "alert rule \"s\": `channels` does not apply to kind sql",
        ),
        (
            "[[rules]]\nname = \"a\"\nkind = \"went_live\"\n[[rules]]\nname = \"a\"\nkind = \"went_offline\"",
            "alert rule \"a\": two rules have this name",
        ),
        (
            "[[rules]]\nname = \"a\"\nkind = \"went_live\"\ntargets = [\"slak\"]",
            "alert rule \"a\": unknown target \"slak\" (configured: none)",
        ),
        (
            "[[rules]]\nname = \"c\"\nkind = \"chat_sentiment\"\nbelow = -3",
            "alert rule \"c\": `below` must be between -1 and 1",
        ),
        (
            "[[rules]]\nname = \"n\"\nkind = \"top_n\"\nn = 0",
            "alert rule \"n\": `n` must be at least 1",
        ),
        (
            "[[rules]]\nname = \"p\"\nkind = \"viewers_drop\"\npercent = \"half\"",
            "alert rule \"p\": invalid type: string \"half\", expected f64",
        ),
    ];
    for (text, want) in cases {
        let got = error(text);
        assert!(
            got.starts_with(want),
            "for\n{text}\n got: {got}\nwant: {want}…"
        );
    }
}

#[test]
fn target_mistakes_name_the_target_and_never_its_secrets() {
    let cases = [
        (
            "[[targets]]\nname = \"ops\"\nkind = \"slack\"",
            "alert target \"ops\": needs `url` or `url_env`",
        ),
        (
            "[[targets]]\nname = \"ops\"\nkind = \"slack\"\nurl_env = \"NOPE_NOT_SET\"",
            "alert target \"ops\": environment variable NOPE_NOT_SET (`url_env`) is not set",
        ),
        (
            "[[targets]]\nname = \"h\"\nkind = \"webhook\"\nurl = \"https://x.example/SECRETPATH\"",
            "alert target \"h\": a webhook target needs a signing secret",
        ),
        (
            "[[targets]]\nname = \"h\"\nkind = \"teams\"\nurl = \"https://x.example/SECRETPATH\"",
            "alert target \"h\": unknown variant `teams`",
        ),
        (
            "[[targets]]\nname = \"h\"\nkind = \"slack\"\nurl = \"gopher://x.example/SECRETPATH\"",
            "alert target \"h\": the URL must be an http:// or https:// URL",
        ),
    ];
    for (text, want) in cases {
        let got = error(text);
        assert!(got.starts_with(want), "got: {got}\nwant: {want}…");
        assert!(!got.contains("SECRETPATH"), "{got}");
    }
}

#[test]
fn delivery_settings_are_checked() {
    assert_eq!(
        error("max_attempts = 0"),
        "alerts: max_attempts must be at least 1"
    );
    assert_eq!(
        error("max_queued = 0"),
        "alerts: max_queued must be at least 1"
    );
    let cfg = parse("max_attempts = 3\nrequest_timeout = \"2s\"\nmax_queued = 50").unwrap();
    assert_eq!(cfg.delivery.max_attempts, 3);
    assert_eq!(cfg.delivery.max_queued, 50);
    assert_eq!(cfg.delivery.request_timeout, Duration::from_secs(2));
    assert!(error("request_timeout = \"0s\"").contains("request_timeout"));
    assert!(error("retries = 3").contains("unknown field `retries`"));
}

#[test]
fn a_file_and_a_section_merge_and_keep_names_unique() {
    let a = parse("[[rules]]\nname = \"a\"\nkind = \"went_live\"").unwrap();
    let b = parse("[[rules]]\nname = \"b\"\nkind = \"went_offline\"").unwrap();
    let merged = AlertsConfig::merge(vec![a.clone(), b]).unwrap();
    assert_eq!(merged.rules.len(), 2);
    let dup = AlertsConfig::merge(vec![a.clone(), a]).unwrap_err();
    assert_eq!(
        dup.to_string(),
        "alert rule \"a\": two rules have this name"
    );
}

#[test]
fn load_reads_the_alerts_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    std::fs::write(&path, "[[rules]]\nname = \"x\"\nkind = \"went_live\"\n").unwrap();
    let sources = crate::config::AlertSources {
        file: Some(path.clone()),
        inline: None,
    };
    assert_eq!(crate::alerts::load(&sources).unwrap().rules.len(), 1);
    std::fs::write(&path, "[[rules]\n").unwrap();
    let e = crate::alerts::load(&sources).unwrap_err().to_string();
    assert!(e.starts_with("invalid alerts file"), "{e}");
    assert!(e.contains("alerts.toml"), "{e}");
}
