//! CloudWatch metrics as embedded metric format (EMF) lines: one JSON line
//! on the function's output, which Lambda sends to CloudWatch Logs, where
//! CloudWatch turns it into metrics. No `PutMetricData` call, nothing
//! waited for on the request path.
//!
//! Every metric the code emits is one of the constants below: the dashboard
//! and the alarms of `template.yaml` name them, and `tests/api/template.rs`
//! checks those names against [`ALL`].
//!
//! A writer of our own (a few dozen lines over `serde_json`) rather than a
//! crate: see docs/operations.md for the measurement.

use super::Sink;
use serde_json::{Map, Value, json};

/// The namespace of every hdoc metric.
pub const NAMESPACE: &str = "hdoc";

/// The dimensions a metric is published under (few values each: the stage,
/// the function, the route template, never an id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimensions {
    /// Per route (`Stage`, `Function`, `Route`) and per function (`Stage`, `Function`).
    Route,
    /// Per stage only: the business counts and the jobs' figures.
    Stage,
}

impl Dimensions {
    /// The dimension sets, as EMF lists them.
    pub fn sets(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Route => &[&["Stage", "Function", "Route"], &["Stage", "Function"]],
            Self::Stage => &[&["Stage"]],
        }
    }
}

/// One metric: its name, its CloudWatch unit and its dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub dimensions: Dimensions,
}

const fn per_route(name: &'static str, unit: &'static str) -> Metric {
    Metric {
        name,
        unit,
        dimensions: Dimensions::Route,
    }
}

const fn count(name: &'static str) -> Metric {
    Metric {
        name,
        unit: "Count",
        dimensions: Dimensions::Stage,
    }
}

/// Every request: 1.
pub const REQUESTS: Metric = per_route("Requests", "Count");
/// From the request's arrival at the router to its answer, in milliseconds.
pub const LATENCY: Metric = per_route("Latency", "Milliseconds");
/// 1 when the answer is a 4xx.
pub const CLIENT_ERRORS: Metric = per_route("4xx", "Count");
/// 1 when the answer is a 5xx.
pub const SERVER_ERRORS: Metric = per_route("5xx", "Count");
/// 1 on the first request of an execution environment.
pub const COLD_STARTS: Metric = per_route("ColdStarts", "Count");

/// `POST /users` made a profile.
pub const PROFILES_CREATED: Metric = count("ProfilesCreated");
/// `POST /articles` made an article.
pub const ARTICLES_CREATED: Metric = count("ArticlesCreated");
/// `POST /reviews` made a review.
pub const REVIEWS_CREATED: Metric = count("ReviewsCreated");
/// `PUT /ratings/{subject}` stored a rating (new or changed).
pub const RATINGS_SET: Metric = count("RatingsSet");
/// `POST /reviews/{id}/photos` handed out an upload URL.
pub const PHOTO_UPLOADS_STARTED: Metric = count("PhotoUploadsStarted");
/// An uploaded photo joined its review (the photo-uploaded function).
pub const PHOTOS_JOINED: Metric = count("PhotosJoined");
/// An uploaded object no review awaited, deleted (the photo-uploaded function).
pub const PHOTOS_UNCLAIMED: Metric = count("PhotosUnclaimed");
/// An admin signed in without TOTP and got tokens without the `admin` group
/// (the pre-token function).
pub const ADMIN_TOKENS_WITHOUT_MFA: Metric = count("AdminTokensWithoutMfa");
/// A deleted user's purge finished (the purge-user function).
pub const USERS_PURGED: Metric = count("UsersPurged");
/// Things (articles, reviews, ratings) a purge removed.
pub const THINGS_PURGED: Metric = count("ThingsPurged");
/// Rows an import wrote (`hdoc-local import`).
pub const ITEMS_IMPORTED: Metric = count("ItemsImported");
/// Rows an import refused.
pub const ROWS_REFUSED: Metric = count("RowsRefused");
/// A reconcile run's repairs, all kinds (alarmed: any is a bug).
pub const AGGREGATES_REPAIRED: Metric = count("AggregatesRepaired");
pub const TAG_COUNTS_REPAIRED: Metric = count("TagCountsRepaired");
pub const SUMMARIES_REPAIRED: Metric = count("SummariesRepaired");
pub const LEADERBOARD_REPAIRED: Metric = count("LeaderboardRepaired");
/// Items a reconcile run walked.
pub const ITEMS_SCANNED: Metric = count("ItemsScanned");
/// Stalled deletions a reconcile run set going again.
pub const PURGES_RESUMED: Metric = count("PurgesResumed");

/// Every metric the code emits.
/// The activity job's run (functions/activity, docs/activity.md).
pub const ACTIVITY_USERS: Metric = count("ActivityUsers");
pub const ACTIVITY_USERS_FAILED: Metric = count("ActivityUsersFailed");
pub const ACTIVITY_PROFILES_UPDATED: Metric = count("ActivityProfilesUpdated");
pub const ACTIVITY_NEW_DAYS: Metric = count("ActivityNewDays");
pub const GITHUB_REQUESTS: Metric = count("GitHubRequests");
pub const GITHUB_NOT_MODIFIED: Metric = count("GitHubNotModified");

pub const ALL: &[Metric] = &[
    REQUESTS,
    LATENCY,
    CLIENT_ERRORS,
    SERVER_ERRORS,
    COLD_STARTS,
    PROFILES_CREATED,
    ARTICLES_CREATED,
    REVIEWS_CREATED,
    RATINGS_SET,
    PHOTO_UPLOADS_STARTED,
    PHOTOS_JOINED,
    PHOTOS_UNCLAIMED,
    ADMIN_TOKENS_WITHOUT_MFA,
    USERS_PURGED,
    THINGS_PURGED,
    ITEMS_IMPORTED,
    ROWS_REFUSED,
    AGGREGATES_REPAIRED,
    TAG_COUNTS_REPAIRED,
    SUMMARIES_REPAIRED,
    LEADERBOARD_REPAIRED,
    ITEMS_SCANNED,
    PURGES_RESUMED,
    ACTIVITY_USERS,
    ACTIVITY_USERS_FAILED,
    ACTIVITY_PROFILES_UPDATED,
    ACTIVITY_NEW_DAYS,
    GITHUB_REQUESTS,
    GITHUB_NOT_MODIFIED,
];

/// One EMF line: figures, the dimensions' values, and properties that are
/// logged with them but are not metrics (a request id, to find the line).
#[derive(Debug, Default)]
pub struct Line {
    figures: Vec<(Metric, f64)>,
    fields: Map<String, Value>,
}

impl Line {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a figure (a metric named twice is added up).
    pub fn figure(&mut self, metric: Metric, value: f64) -> &mut Self {
        match self.figures.iter_mut().find(|(m, _)| m.name == metric.name) {
            Some((_, total)) => *total += value,
            None => self.figures.push((metric, value)),
        }
        self
    }

    /// Sets a dimension's value or a property.
    pub fn field(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Whether the line has no figure (then it is not written).
    pub fn is_empty(&self) -> bool {
        self.figures.is_empty()
    }

    /// The JSON line, stamped `timestamp_ms` (Unix epoch milliseconds).
    pub fn render(&self, timestamp_ms: i64) -> String {
        let mut directives = Vec::new();
        for dimensions in [Dimensions::Route, Dimensions::Stage] {
            let metrics: Vec<Value> = self
                .figures
                .iter()
                .filter(|(metric, _)| metric.dimensions == dimensions)
                .map(|(metric, _)| json!({"Name": metric.name, "Unit": metric.unit}))
                .collect();
            if !metrics.is_empty() {
                directives.push(json!({
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions.sets(),
                    "Metrics": metrics,
                }));
            }
        }
        let mut line = self.fields.clone();
        line.insert(
            "_aws".to_owned(),
            json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
        );
        for (metric, value) in &self.figures {
            line.insert(metric.name.to_owned(), json!(value));
        }
        Value::Object(line).to_string()
    }

    /// Writes the line to `sink` (nothing if it has no figure).
    pub fn emit_to(&self, sink: &Sink) {
        if !self.is_empty() {
            sink.write_line(&self.render(now_ms()));
        }
    }

    /// Writes the line to the process's telemetry output, with the process's
    /// `Stage` and `Function` (see [`super::process`]).
    pub fn emit(&mut self) {
        let process = super::process();
        self.field("Stage", process.stage.as_str())
            .field("Function", process.function.as_str());
        self.emit_to(super::sink());
    }
}

fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Emits one line of per-stage figures now (a job's counts).
pub fn emit(figures: &[(Metric, u64)]) {
    let mut line = Line::new();
    for (metric, value) in figures {
        line.figure(*metric, *value as f64);
    }
    line.emit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_each_metric_under_its_dimensions() {
        let mut line = Line::new();
        line.field("Stage", "dev")
            .field("Function", "hdoc-backend-dev-users")
            .field("Route", "GET /users/{id}")
            .figure(REQUESTS, 1.0)
            .figure(LATENCY, 2.5)
            .figure(PROFILES_CREATED, 1.0)
            .figure(PROFILES_CREATED, 1.0);
        let parsed: Value = serde_json::from_str(&line.render(1_700_000_000_000)).expect("json");
        let aws = &parsed["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000_i64);
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Namespace"], "hdoc");
        assert_eq!(
            directives[0]["Dimensions"],
            json!([["Stage", "Function", "Route"], ["Stage", "Function"]])
        );
        assert_eq!(
            directives[0]["Metrics"],
            json!([{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}])
        );
        assert_eq!(directives[1]["Dimensions"], json!([["Stage"]]));
        assert_eq!(
            directives[1]["Metrics"],
            json!([{"Name": "ProfilesCreated", "Unit": "Count"}])
        );
        // Every dimension named has its value on the line, and every metric its figure.
        assert_eq!(parsed["Route"], "GET /users/{id}");
        assert_eq!(parsed["Requests"], 1.0);
        assert_eq!(parsed["Latency"], 2.5);
        assert_eq!(parsed["ProfilesCreated"], 2.0);
    }

    #[test]
    fn metric_names_are_unique() {
        let mut names: Vec<&str> = ALL.iter().map(|metric| metric.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
