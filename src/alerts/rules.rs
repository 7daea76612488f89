//! Validated alert rules: what each kind watches, its thresholds, which
//! channels it covers and how often it may fire. Built from TOML by
//! `parse`; evaluation reads only these types.
use std::fmt;
use std::time::Duration;

/// The built-in kinds of rule, plus SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    /// A channel in scope started streaming.
    WentLive,
    /// A channel in scope stopped streaming.
    WentOffline,
    /// Viewers fell by X% and/or N from their peak within a window.
    ViewersDrop,
    /// Viewers rose by X% and/or N from their low within a window (a raid).
    ViewersGain,
    /// Followers rose by X% and/or N within a window.
    FollowersGain,
    /// Followers fell by X% and/or N within a window.
    FollowersLoss,
    /// A channel entered the live top N (of the rule's scope).
    TopN,
    /// A channel qualified in `gold.rising_stars`.
    RisingStar,
    /// Chat sentiment fell below a level or dropped against the last hour.
    ChatSentiment,
    /// Chat messages per minute swung against the last hour.
    ChatRate,
    /// Rows of a SQL query over the catalog.
    Sql,
}

impl RuleKind {
    /// Every kind.
    pub const ALL: [RuleKind; 11] = [
        RuleKind::WentLive,
        RuleKind::WentOffline,
        RuleKind::ViewersDrop,
        RuleKind::ViewersGain,
        RuleKind::FollowersGain,
        RuleKind::FollowersLoss,
        RuleKind::TopN,
        RuleKind::RisingStar,
        RuleKind::ChatSentiment,
        RuleKind::ChatRate,
        RuleKind::Sql,
    ];

    /// The name used in rule files and in `gold.alerts.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::WentLive => "went_live",
            RuleKind::WentOffline => "went_offline",
            RuleKind::ViewersDrop => "viewers_drop",
            RuleKind::ViewersGain => "viewers_gain",
            RuleKind::FollowersGain => "followers_gain",
            RuleKind::FollowersLoss => "followers_loss",
            RuleKind::TopN => "top_n",
            RuleKind::RisingStar => "rising_star",
            RuleKind::ChatSentiment => "chat_sentiment",
            RuleKind::ChatRate => "chat_rate",
            RuleKind::Sql => "sql",
        }
    }

    /// Looks a kind up by its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which channels a rule covers. Every list given must match (a channel in
/// one of the categories *and* one of the languages); no list = every
/// watched channel. Categories match by id or by name (any case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Logins, lower case.
    pub channels: Vec<String>,
    /// Category ids or names (names lower case).
    pub categories: Vec<String>,
    /// Stream languages, lower case.
    pub languages: Vec<String>,
}

impl Scope {
    /// True when the rule covers every watched channel.
    pub fn is_all(&self) -> bool {
        self.channels.is_empty() && self.categories.is_empty() && self.languages.is_empty()
    }

    /// Whether a channel with these attributes is covered. `login` is
    /// compared case-insensitively; empty attributes match no list.
    pub fn matches(&self, login: &str, game_id: &str, game_name: &str, language: &str) -> bool {
        (self.channels.is_empty() || self.channels.iter().any(|c| c.eq_ignore_ascii_case(login)))
            && (self.categories.is_empty()
                || self
                    .categories
                    .iter()
                    .any(|c| c == game_id || (!c.is_empty() && c.eq_ignore_ascii_case(game_name))))
            && (self.languages.is_empty()
                || self
                    .languages
                    .iter()
                    .any(|l| l.eq_ignore_ascii_case(language)))
    }
}

/// A change threshold: at least `percent` % and/or at least `by` in
/// absolute terms (when both are set, both must hold). An episode ends
/// once the change is below half of each threshold set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// Relative change, in percent of the baseline.
    pub percent: Option<f64>,
    /// Absolute change.
    pub by: Option<i64>,
}

/// Where a change is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Falling: from the highest value in the window to now.
    Down,
    /// Rising: from the lowest value in the window to now.
    Up,
    /// Either.
    Any,
}

/// What a rule watches, with its kind's parameters (defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// See [`RuleKind::WentLive`]. Fires for streams started at most
    /// `max_uptime` ago (a channel first seen mid-stream did not just go live).
    WentLive {
        /// How old a stream may be and still count as "went live".
        max_uptime: Duration,
    },
    /// See [`RuleKind::WentOffline`]. Fires once the channel has been gone `grace`.
    WentOffline {
        /// How long a channel must stay offline (a quick restart is not offline).
        grace: Duration,
    },
    /// See [`RuleKind::ViewersDrop`] and [`RuleKind::ViewersGain`].
    Viewers {
        /// `Down` for drops, `Up` for gains.
        direction: Direction,
        /// The threshold.
        change: Change,
        /// How far back the peak (or low) is looked for.
        window: Duration,
        /// The larger of baseline and now must reach this (small channels are noisy).
        min_viewers: i64,
        /// Samples from a stream's first minutes are ignored (audiences ramp up).
        min_uptime: Duration,
    },
    /// See [`RuleKind::FollowersGain`] and [`RuleKind::FollowersLoss`].
    Followers {
        /// `Up` for gains, `Down` for losses.
        direction: Direction,
        /// The threshold.
        change: Change,
        /// How far back the low (or high) is looked for.
        window: Duration,
    },
    /// See [`RuleKind::TopN`].
    TopN {
        /// Rank to enter.
        n: usize,
        /// An episode ends only past rank `n + margin` (or offline).
        margin: usize,
    },
    /// See [`RuleKind::RisingStar`]. Either bound may be absent, not both.
    RisingStar {
        /// Highest rank that qualifies.
        max_rank: Option<i64>,
        /// Lowest score that qualifies.
        min_score: Option<f64>,
    },
    /// See [`RuleKind::ChatSentiment`].
    ChatSentiment {
        /// Fires when the 5-minute sentiment is at or below this.
        below: Option<f64>,
        /// Fires when the 5-minute sentiment is this much below the hour's.
        drop: Option<f64>,
        /// Chat slower than this (messages per minute, 5-minute mean) is ignored.
        min_messages: f64,
    },
    /// See [`RuleKind::ChatRate`].
    ChatRate {
        /// Which way the rate must move.
        direction: Direction,
        /// Percent change of the 5-minute rate against the hour's.
        percent: f64,
        /// The larger of the two rates must reach this (messages per minute).
        min_messages: f64,
    },
    /// See [`RuleKind::Sql`].
    Sql {
        /// The query (read-only, over catalog `twitch`).
        query: String,
    },
}

impl Condition {
    /// The kind this condition belongs to.
    pub fn kind(&self) -> RuleKind {
        match self {
            Condition::WentLive { .. } => RuleKind::WentLive,
            Condition::WentOffline { .. } => RuleKind::WentOffline,
            Condition::Viewers {
                direction: Direction::Up,
                ..
            } => RuleKind::ViewersGain,
            Condition::Viewers { .. } => RuleKind::ViewersDrop,
            Condition::Followers {
                direction: Direction::Down,
                ..
            } => RuleKind::FollowersLoss,
            Condition::Followers { .. } => RuleKind::FollowersGain,
            Condition::TopN { .. } => RuleKind::TopN,
            Condition::RisingStar { .. } => RuleKind::RisingStar,
            Condition::ChatSentiment { .. } => RuleKind::ChatSentiment,
            Condition::ChatRate { .. } => RuleKind::ChatRate,
            Condition::Sql { .. } => RuleKind::Sql,
        }
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique name (in alerts and messages).
    pub name: String,
    /// Channels covered.
    pub scope: Scope,
    /// What fires it.
    pub condition: Condition,
    /// After firing for a channel, the rule stays quiet for it this long,
    /// even if a new episode starts (a flapping channel does not spam).
    pub cooldown: Duration,
    /// Names of the targets it is delivered to (resolved: never empty when
    /// any target exists).
    pub targets: Vec<String>,
}

impl Rule {
    /// The rule's kind.
    pub fn kind(&self) -> RuleKind {
        self.condition.kind()
    }
}

/// The rules in force, in file order, names unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// A set of already validated rules (names must be unique; `parse`
    /// checks that for rules read from files).
    pub(crate) fn from_rules(rules: Vec<Rule>) -> Self {
        Self { rules }
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by name.
    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}
