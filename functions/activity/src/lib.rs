//! The `activity` function: scores and streaks from the journeyers' own
//! public GitHub activity (`docs/activity.md`).
//!
//! A run walks every profile (the users list, oldest first, a stretch at a
//! time), reads each journeyer's public events from GitHub ([`github`]),
//! records the active UTC days, and sets `daysCompleted`, `githubStreak` and
//! `githubScore` from all the days recorded, by the rule in
//! `hdoc_shared::domain::activity`, in one transaction with the days and the
//! leaderboard key (`hdoc_shared::store::activity`).
//!
//! A run keeps its place in a checkpoint (`JOB#ACTIVITY`), saved after
//! every stretch, by the jobs' one runner (`hdoc_shared::jobs::walk`):
//! an invocation resumes the run in progress or starts one, and stops at its
//! deadline, at a rate limit (until the reset) or when GitHub cannot be
//! reached; the next invocation of the hourly schedule goes on from there.
//! Of two invocations at once, the second to save its checkpoint stops, and
//! what both did to a journeyer is applied once (days are a set; each write
//! is conditioned on what it read). A journeyer whose events cannot be read
//! (404, 5xx) is recorded on its activity record and in the run, and the run
//! goes on.

pub mod github;
pub mod journey;

use github::{Fetch, GitHub, Limit, RateLimit, Reading};
use hdoc_shared::AppState;
use hdoc_shared::domain::{Timestamp, User, UserId};
use hdoc_shared::jobs::{self, Ended, Stretch, Walk, out_of_time};
use hdoc_shared::store::{Job, Phase, Repository, ScanKey, StoreError};
use journey::{Placeholders, PushHint, Read, check_verification, read_journey};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// Profiles walked between two saves of the checkpoint.
pub const STRETCH: u32 = 50;
/// Failures listed in a run (all are counted in `failed`).
pub const LISTED_FAILURES: usize = 100;
/// After this many journeyers in a row for whom GitHub could not be
/// reached, the run stops until [`UNREACHABLE_PAUSE`] has passed.
pub const UNREACHABLE_STOP: u32 = 3;
pub const UNREACHABLE_PAUSE: Duration = Duration::from_secs(5 * 60);

/// A journeyer whose events could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub id: String,
    /// GitHub's status, or `None` when it could not be reached.
    pub status: Option<u16>,
    pub error: String,
    pub at: String,
}

/// What GitHub said of the rate limit, last.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateSeen {
    pub remaining: Option<u64>,
    pub reset_at: Option<String>,
}

/// A run of the activity job: where it stands and what it did so far. It is
/// the checkpoint's content, the answer of `POST /_dev/activity`, and the
/// figures the run logs when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRun {
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Where the walk resumes: the users-list key of the last profile done.
    pub next: Option<ScanKey>,
    /// Profiles done (read from GitHub and recorded, or failed).
    pub users: u64,
    /// Requests sent to GitHub.
    pub requests: u64,
    /// Journeyers whose first page was unchanged (a 304).
    pub not_modified: u64,
    /// Journeyers whose events were read (a 200).
    pub fetched: u64,
    /// Active days recorded for the first time.
    pub new_days: u64,
    /// Profiles whose numbers changed (and so their leaderboard places).
    pub updated: u64,
    /// Journeyers whose repository could not be read (or does not count).
    pub failed: u64,
    /// Profiles verified by the run (a pending code found in the README).
    #[serde(default)]
    pub verified: u64,
    /// The first [`LISTED_FAILURES`] of them.
    pub failures: Vec<Failure>,
    /// Invocations the run has taken so far.
    pub slices: u32,
    /// Set when the run stopped for a rate limit (or GitHub unreachable):
    /// no invocation goes on before then.
    pub waiting_until: Option<String>,
    /// Why it stopped: `rateLimit`, `secondaryRateLimit` or `unreachable`.
    pub stopped_by: Option<String>,
    pub rate_limit: Option<RateSeen>,
}

/// How a run is made.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Profiles a stretch.
    pub stretch: u32,
    /// The day that is "today" (`None`: the UTC date when each profile is done).
    pub today: Option<Date>,
    /// For the run's metrics line.
    pub stage: String,
    /// The Journey Template (`owner/name`) whose placeholder page marks a
    /// day as not documented.
    pub template: String,
}

impl Settings {
    pub fn new(stage: &str) -> Self {
        Self {
            stretch: STRETCH,
            today: None,
            stage: stage.to_owned(),
            template: hdoc_shared::config::JOURNEY_TEMPLATE.to_owned(),
        }
    }

    /// The settings of `config`'s deployment.
    pub fn of(config: &hdoc_shared::Config) -> Self {
        Self {
            template: config.journey_template.clone(),
            ..Self::new(&config.stage)
        }
    }
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn format_time(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// One invocation with the function's settings: what the schedule runs.
pub async fn handle(
    state: &AppState,
    github: &GitHub,
    deadline: Option<Instant>,
) -> Result<Ended<ActivityRun>, StoreError> {
    let ended = run(state, github, deadline, &Settings::of(&state.config)).await?;
    match &ended {
        Ended::Finished(run) => tracing::info!(users = run.users, "activity run finished"),
        Ended::Paused(run) => tracing::info!(
            users = run.users,
            waiting_until = run.waiting_until.as_deref(),
            stopped_by = run.stopped_by.as_deref(),
            "activity run paused; the next invocation goes on"
        ),
        Ended::Held => tracing::info!("another invocation holds the activity run"),
    }
    Ok(ended)
}

/// What doing one journeyer came to.
enum Step {
    /// Recorded (or failed and recorded): the walk goes past it.
    Done,
    /// GitHub could not be reached (recorded as a failure).
    Unreachable,
    /// Done, but GitHub's rate limit is spent until then.
    Spent(OffsetDateTime),
    /// A rate limit: stop before this journeyer until `until`.
    Stop(OffsetDateTime, Limit),
}

/// The activity job, for one invocation: the walk of the journeyers the
/// runner (`hdoc_shared::jobs::walk`) drives.
struct Activity<'a> {
    repo: &'a Repository,
    github: &'a GitHub,
    settings: &'a Settings,
    /// Journeyers in a row for whom GitHub could not be reached.
    unreachable: AtomicU32,
    /// The template's placeholder SHAs, read once an invocation.
    template: Placeholders,
}

impl Walk for Activity<'_> {
    type Run = ActivityRun;
    const JOB: Job = Job::Activity;
    /// The next hourly invocation goes on.
    const STOPPED: Phase = Phase::Running;

    async fn start(&self) -> Result<ActivityRun, StoreError> {
        Ok(ActivityRun {
            started_at: now(),
            ..ActivityRun::default()
        })
    }

    /// Not before the rate limit's reset it stopped for.
    fn may_go_on(&self, run: &ActivityRun) -> bool {
        let waiting = run
            .waiting_until
            .as_deref()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok());
        waiting.is_none_or(|until| until <= self.github.clock().now())
    }

    fn resume(&self, run: &mut ActivityRun) {
        run.waiting_until = None;
        run.stopped_by = None;
        run.slices += 1;
    }

    async fn stretch(
        &self,
        run: &mut ActivityRun,
        deadline: Option<Instant>,
    ) -> Result<Stretch, StoreError> {
        let (page, more) = self
            .repo
            .journeyers(run.next.as_ref(), self.settings.stretch)
            .await?;
        for (id, key) in page {
            if out_of_time(deadline) {
                return Ok(Stretch::Stop);
            }
            let step = journeyer(
                self.repo,
                self.github,
                &self.template,
                &id,
                deadline,
                self.settings,
                run,
            )
            .await?;
            let mut spent = None;
            match step {
                Step::Done => self.unreachable.store(0, Ordering::Relaxed),
                Step::Unreachable => {
                    self.unreachable.fetch_add(1, Ordering::Relaxed);
                }
                Step::Spent(reset) => {
                    self.unreachable.store(0, Ordering::Relaxed);
                    spent = Some(reset);
                }
                Step::Stop(until, why) => {
                    run.waiting_until = Some(format_time(until));
                    run.stopped_by = Some(why.as_str().to_owned());
                    tracing::warn!(
                        until = format_time(until),
                        why = why.as_str(),
                        "GitHub's rate limit: the run stops until then"
                    );
                    return Ok(Stretch::Stop);
                }
            }
            run.next = Some(key);
            if self.unreachable.load(Ordering::Relaxed) >= UNREACHABLE_STOP {
                run.waiting_until =
                    Some(format_time(self.github.clock().now() + UNREACHABLE_PAUSE));
                run.stopped_by = Some("unreachable".to_owned());
                tracing::warn!(
                    api = self.github.api(),
                    "GitHub could not be reached for {UNREACHABLE_STOP} journeyers in a row: the run stops for a while"
                );
                return Ok(Stretch::Stop);
            }
            if let Some(reset) = spent {
                run.waiting_until = Some(format_time(reset));
                run.stopped_by = Some(Limit::Primary.as_str().to_owned());
                tracing::warn!(
                    reset_at = format_time(reset),
                    "GitHub's rate limit is spent: the run stops until its reset"
                );
                return Ok(Stretch::Stop);
            }
        }
        Ok(if more { Stretch::More } else { Stretch::End })
    }

    fn finish(&self, run: &mut ActivityRun) {
        run.finished_at = Some(now());
    }

    fn report(&self, run: &ActivityRun) {
        log_metrics(run);
    }
}

/// Runs the activity job until the run ends or `deadline`: resumes the run
/// in progress (unless it waits for a rate limit's reset) or starts one.
pub async fn run(
    state: &AppState,
    github: &GitHub,
    deadline: Option<Instant>,
    settings: &Settings,
) -> Result<Ended<ActivityRun>, StoreError> {
    let job = Activity {
        repo: &state.repo,
        github,
        settings,
        unreachable: AtomicU32::new(0),
        template: Placeholders::new(&settings.template),
    };
    jobs::walk(&state.repo, &job, deadline).await
}

/// Does one journeyer: checks a pending verification code; for a verified
/// profile with a `journeyRepo`, reads its journey repository and records
/// what it found (`journey`). A profile that is neither earns nothing and
/// costs no request.
async fn journeyer(
    repo: &Repository,
    github: &GitHub,
    template: &Placeholders,
    id: &UserId,
    deadline: Option<Instant>,
    settings: &Settings,
    run: &mut ActivityRun,
) -> Result<Step, StoreError> {
    let today = settings
        .today
        .unwrap_or_else(|| github.clock().now().date());
    let outcome = recount(repo, github, template, id, None, today, deadline).await?;
    run.requests += outcome.requests;
    if let Some(rate) = outcome.rate {
        run.rate_limit = Some(seen(rate));
    }
    run.verified += u64::from(outcome.verified);
    match outcome.result {
        Counted::Skipped => Ok(Step::Done),
        Counted::Recorded {
            new_days,
            changed,
            not_modified,
        } => {
            run.users += 1;
            run.fetched += u64::from(!not_modified);
            run.not_modified += u64::from(not_modified);
            run.new_days += new_days;
            run.updated += u64::from(changed);
            Ok(match outcome.rate.filter(RateLimit::exhausted) {
                Some(rate) => Step::Spent(rate.reset_at()),
                None => Step::Done,
            })
        }
        Counted::Failed { status, message } => {
            tracing::warn!(
                id = id.as_str(),
                status,
                error = message,
                "a journeyer's repository could not be read"
            );
            run.users += 1;
            run.failed += 1;
            if run.failures.len() < LISTED_FAILURES {
                run.failures.push(Failure {
                    id: id.as_str().to_owned(),
                    status,
                    error: message,
                    at: now(),
                });
            }
            Ok(match status {
                None => Step::Unreachable,
                Some(_) => Step::Done,
            })
        }
        Counted::Limited { until, why } => Ok(Step::Stop(until, why)),
    }
}

/// What recounting one journeyer came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counted {
    /// Not a verified journeyer with a `journeyRepo` (or gone): nothing read.
    Skipped,
    /// Read and recorded (`not_modified`: the tree had not changed).
    Recorded {
        new_days: u64,
        changed: bool,
        not_modified: bool,
    },
    /// Not readable, or not counted (recorded on the journeyer's record).
    Failed {
        status: Option<u16>,
        message: String,
    },
    /// A rate limit: nothing of this journeyer was read.
    Limited { until: OffsetDateTime, why: Limit },
}

/// A [`Counted`] and what it cost.
#[derive(Clone, Debug)]
pub struct Recount {
    pub result: Counted,
    /// Whether a pending verification code was found and the profile verified.
    pub verified: bool,
    pub requests: u64,
    pub rate: Option<RateLimit>,
}

/// Marks `id` verified: its owner proved the GitHub account (the pending
/// code goes).
pub async fn mark_verified(repo: &Repository, id: &UserId) -> Result<User, StoreError> {
    repo.update_user(id, |record| {
        record.user.journey.verified = true;
        record.verification = None;
        Ok::<(), StoreError>(())
    })
    .await
}

/// Recounts one journeyer now (the job's step, and the push webhook's:
/// `hint` is the push it announced). See [`journey`].
pub async fn recount(
    repo: &Repository,
    github: &GitHub,
    template: &Placeholders,
    id: &UserId,
    hint: Option<&PushHint>,
    today: Date,
    deadline: Option<Instant>,
) -> Result<Recount, StoreError> {
    let mut reading = GitHub::reading();
    let mut verified = false;
    let result = count(
        repo,
        github,
        template,
        id,
        hint,
        today,
        deadline,
        &mut reading,
        &mut verified,
    )
    .await?;
    Ok(Recount {
        result,
        verified,
        requests: reading.requests,
        rate: reading.rate,
    })
}

#[allow(clippy::too_many_arguments)]
async fn count(
    repo: &Repository,
    github: &GitHub,
    template: &Placeholders,
    id: &UserId,
    hint: Option<&PushHint>,
    today: Date,
    deadline: Option<Instant>,
    reading: &mut Reading,
    verified: &mut bool,
) -> Result<Counted, StoreError> {
    let failed = |fetch: Fetch| match fetch {
        Fetch::Failed { status, message } => Counted::Failed { status, message },
        Fetch::Limited { until, why } => Counted::Limited { until, why },
    };
    // Deleted since the users list was read: nothing to do.
    let Some(mut journeyer) = repo.journeyer(id).await? else {
        return Ok(Counted::Skipped);
    };
    if journeyer.record.user.journey_repo.is_none() {
        return Ok(Counted::Skipped);
    }
    if !journeyer.record.user.journey.verified {
        let now = Timestamp::from_datetime(github.clock().now());
        let pending = journeyer
            .record
            .verification
            .as_ref()
            .filter(|code| code.is_valid_at(&now));
        if pending.is_none() {
            return Ok(Counted::Skipped);
        }
        let user = &journeyer.record.user;
        match check_verification(github, user, pending, &now, deadline, reading).await {
            Ok(Ok(())) => {
                mark_verified(repo, id).await?;
                *verified = true;
                match repo.journeyer(id).await? {
                    Some(again) => journeyer = again,
                    None => return Ok(Counted::Skipped),
                }
            }
            Ok(Err(_)) => return Ok(Counted::Skipped),
            Err(fetch) => return Ok(failed(fetch)),
        }
    }
    let placeholders = match template.get(github, deadline, reading).await {
        Ok(read) => read,
        Err(fetch) => return Ok(failed(fetch)),
    };
    let read = match read_journey(
        github,
        &journeyer,
        &placeholders,
        hint,
        today,
        deadline,
        reading,
    )
    .await
    {
        Ok(read) => read,
        Err(Fetch::Failed { status, message }) => {
            repo.record_activity_error(journeyer, status, &message)
                .await?;
            return Ok(Counted::Failed { status, message });
        }
        Err(fetch) => return Ok(failed(fetch)),
    };
    match read {
        Read::Missing(missing) => {
            let message = missing.message().to_owned();
            repo.record_activity_error(journeyer, Some(422), &message)
                .await?;
            Ok(Counted::Failed {
                status: Some(422),
                message,
            })
        }
        Read::Found(found) => {
            let not_modified = found.dated.is_empty()
                && journeyer.activity.journey.tree_etag.is_some()
                && journeyer.activity.journey.tree_etag == found.tree_etag;
            Ok(match repo.record_journey(journeyer, &found, today).await? {
                None => Counted::Skipped,
                Some(recorded) => Counted::Recorded {
                    new_days: recorded.new_days,
                    changed: recorded.changed,
                    not_modified,
                },
            })
        }
    }
}

fn seen(rate: RateLimit) -> RateSeen {
    RateSeen {
        remaining: rate.remaining,
        reset_at: rate.reset.map(|_| format_time(rate.reset_at())),
    }
}

/// Logs a finished run as CloudWatch metrics, one EMF line with its failures.
fn log_metrics(run: &ActivityRun) {
    use hdoc_shared::telemetry::emf;
    let mut line = emf::Line::new();
    for (metric, value) in [
        (emf::ACTIVITY_USERS, run.users),
        (emf::ACTIVITY_USERS_FAILED, run.failed),
        (emf::ACTIVITY_PROFILES_UPDATED, run.updated),
        (emf::ACTIVITY_NEW_DAYS, run.new_days),
        (emf::GITHUB_REQUESTS, run.requests),
        (emf::GITHUB_NOT_MODIFIED, run.not_modified),
    ] {
        line.figure(metric, value as f64);
    }
    line.field("startedAt", run.started_at.clone())
        .field("finishedAt", run.finished_at.clone())
        .field("slices", run.slices)
        .field(
            "failures",
            serde_json::to_value(&run.failures).unwrap_or_default(),
        )
        .emit();
}
