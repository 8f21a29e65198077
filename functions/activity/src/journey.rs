//! The journey as read from GitHub (contract v3, docs/journey.md): which
//! days of a journeyer's copy of the Journey Template are documented, when
//! each was, and whether a profile's owner has proven the GitHub account.
//!
//! Per verified journeyer, as a good API citizen:
//!
//! 1. `GET /repos/{owner}/{repo}` (with the stored ETag): the default
//!    branch, `created_at`, that it is public and whose it is.
//! 2. `GET /repos/{owner}/{repo}/git/trees/{branch}?recursive=1` (with the
//!    stored ETag): one read tells all 100 days, by blob SHA against the
//!    template's placeholder page. A 304 means no new day.
//! 3. Only for days documented but not yet recorded: the push that brought
//!    each, from `GET /users/{login}/events/public` (`PushEvent`s to the
//!    default branch: today's payload carries `before` and `head`, not the
//!    commits) and `GET /repos/{owner}/{repo}/compare/{before}...{head}`
//!    (the files a push changed, with their blob SHAs); for a day no visible
//!    push brought, `GET /repos/{owner}/{repo}/commits?sha={branch}&path=...`
//!    (the earliest commit that changed the file, never before the
//!    repository's `created_at`).
//!
//! The template's placeholder SHAs come from the template repository itself
//! (`HDOC_JOURNEY_TEMPLATE`, `100DaysOfCloud/100DaysOfCloud`), read once a
//! run: its metadata and its tree, two requests.

use crate::github::{Fetch, GitHub, Reading};
use hdoc_shared::domain::journey::{DayNumber, day_date};
use hdoc_shared::domain::{Timestamp, User, Verification};
use hdoc_shared::store::{Found, Journeyer};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Instant;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// Pushes compared at most for one journeyer in one read.
pub const MAX_COMPARES: usize = 30;
/// Pages of commits read at most for one day's file.
pub const MAX_COMMIT_PAGES: usize = 3;
/// Pages of events read at most (GitHub keeps 300 events, 100 a page).
pub const MAX_EVENT_PAGES: usize = 3;

/// The template's placeholder page: the blob SHAs of its days' files (all
/// one page in the template; any of them counts as "not documented").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pub placeholders: HashSet<String>,
}

impl Template {
    pub fn is_placeholder(&self, sha: &str) -> bool {
        self.placeholders.contains(sha)
    }
}

/// The fields of a repository the job reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Repo {
    pub full_name: String,
    pub default_branch: String,
    pub created_at: String,
    #[serde(default)]
    pub private: bool,
    pub owner: Owner,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Owner {
    pub login: String,
}

#[derive(Deserialize)]
struct Tree {
    tree: Vec<TreeEntry>,
}

#[derive(Deserialize)]
struct TreeEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    sha: String,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: Option<String>,
    repo: Option<EventRepo>,
    #[serde(default)]
    payload: PushPayload,
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct EventRepo {
    name: String,
}

/// A `PushEvent`'s payload as the events API gives it today.
#[derive(Default, Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    head: Option<String>,
    before: Option<String>,
}

#[derive(Deserialize)]
struct Compare {
    #[serde(default)]
    files: Vec<ChangedFile>,
}

#[derive(Deserialize)]
struct ChangedFile {
    filename: String,
    sha: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct Commit {
    commit: CommitDetail,
    #[serde(default)]
    parents: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct CommitDetail {
    committer: Option<Signature>,
}

#[derive(Deserialize)]
struct Signature {
    date: Option<String>,
}

fn parse_time(at: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(at, &Rfc3339).ok()
}

/// A push the webhook announced: when, and the files its commits changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushHint {
    pub at: Option<OffsetDateTime>,
    pub files: BTreeSet<String>,
}

/// The template's placeholder SHAs, read once (two requests) and kept.
#[derive(Debug)]
pub struct Placeholders {
    /// The template repository, `owner/name`.
    name: String,
    known: std::sync::Mutex<Option<Template>>,
}

impl Placeholders {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            known: std::sync::Mutex::new(None),
        }
    }

    /// The template, read from GitHub the first time.
    pub async fn get(
        &self,
        github: &GitHub,
        deadline: Option<Instant>,
        reading: &mut Reading,
    ) -> Result<Template, Fetch> {
        let known = self
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(known) = known {
            return Ok(known);
        }
        let read = template(github, &self.name, deadline, reading).await?;
        *self
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(read.clone());
        Ok(read)
    }
}

/// Reads the template's placeholder SHAs (two requests).
pub async fn template(
    github: &GitHub,
    full_name: &str,
    deadline: Option<Instant>,
    reading: &mut Reading,
) -> Result<Template, Fetch> {
    let page = github
        .fetch(
            &format!("/repos/{full_name}"),
            None,
            false,
            deadline,
            reading,
        )
        .await?;
    let page = page.checked()?;
    let repo: Repo = page.json("a repository")?;
    let page = github
        .fetch(
            &format!(
                "/repos/{full_name}/git/trees/{}?recursive=1",
                repo.default_branch
            ),
            None,
            false,
            deadline,
            reading,
        )
        .await?;
    let page = page.checked()?;
    let tree: Tree = page.json("a tree")?;
    let placeholders = tree
        .tree
        .into_iter()
        .filter(|entry| entry.kind == "blob" && DayNumber::of_path(&entry.path).is_some())
        .map(|entry| entry.sha)
        .collect();
    Ok(Template { placeholders })
}

/// Why a journey repository cannot be counted, or a verification fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The profile has no `journeyRepo`.
    NoRepo,
    /// GitHub does not show it (404), or it is private.
    NotPublic,
    /// GitHub says another account owns it.
    NotOwner,
    /// No pending code, the code expired, or the README lacks its line.
    Code,
}

impl Missing {
    /// What a 422 says.
    pub fn message(&self) -> &'static str {
        match self {
            Self::NoRepo => "no journey repo: set journeyRepo to your copy of the Journey Template",
            Self::NotPublic => "the journey repository was not found on GitHub or is not public",
            Self::NotOwner => "the journey repository's owner on GitHub is not githubProfile",
            Self::Code => {
                "the verification code is absent or expired: POST /users/{id}/verification for a code, and put the line `hdoc-verification: <code>` in the journey repository's README.md"
            }
        }
    }
}

/// A repository read, or why it does not count.
pub enum RepoRead {
    /// 304: as stored.
    Unchanged,
    Read(Repo, Option<String>),
    Missing(Missing),
}

/// `GET /repos/{full_name}` with `etag`.
pub async fn read_repo(
    github: &GitHub,
    full_name: &str,
    owner: &str,
    etag: Option<&str>,
    deadline: Option<Instant>,
    reading: &mut Reading,
) -> Result<RepoRead, Fetch> {
    let page = github
        .fetch(
            &format!("/repos/{full_name}"),
            etag,
            false,
            deadline,
            reading,
        )
        .await?;
    if page.not_modified() {
        return Ok(RepoRead::Unchanged);
    }
    if page.status == 404 {
        return Ok(RepoRead::Missing(Missing::NotPublic));
    }
    let page = page.checked()?;
    let repo: Repo = page.json("a repository")?;
    if repo.private {
        return Ok(RepoRead::Missing(Missing::NotPublic));
    }
    if !repo.owner.login.eq_ignore_ascii_case(owner) {
        return Ok(RepoRead::Missing(Missing::NotOwner));
    }
    Ok(RepoRead::Read(repo, page.etag))
}

/// Checks that `user`'s journey repository is public, theirs, and that its
/// README holds the pending `verification` code (valid at `now`): `Ok(Ok)`
/// when verified, `Ok(Err)` naming what is missing, `Err` when GitHub
/// could not be read.
pub async fn check_verification(
    github: &GitHub,
    user: &User,
    verification: Option<&Verification>,
    now: &Timestamp,
    deadline: Option<Instant>,
    reading: &mut Reading,
) -> Result<Result<(), Missing>, Fetch> {
    let Some(repo) = &user.journey_repo else {
        return Ok(Err(Missing::NoRepo));
    };
    if repo.owner() != &user.id {
        return Ok(Err(Missing::NotOwner));
    }
    let full_name = repo.full_name();
    match read_repo(
        github,
        &full_name,
        user.id.as_str(),
        None,
        deadline,
        reading,
    )
    .await?
    {
        RepoRead::Missing(missing) => return Ok(Err(missing)),
        RepoRead::Unchanged | RepoRead::Read(..) => {}
    }
    let Some(verification) = verification.filter(|v| v.is_valid_at(now)) else {
        return Ok(Err(Missing::Code));
    };
    let page = github
        .fetch(
            &format!("/repos/{full_name}/readme"),
            None,
            true,
            deadline,
            reading,
        )
        .await?;
    if page.status == 404 {
        return Ok(Err(Missing::Code));
    }
    let page = page.checked()?;
    let readme = String::from_utf8_lossy(&page.body);
    Ok(if verification.is_in(&readme) {
        Ok(())
    } else {
        Err(Missing::Code)
    })
}

/// What reading a journeyer's repository came to.
pub enum Read {
    Found(Found),
    /// The repository does not count (gone, private, another's).
    Missing(Missing),
}

/// Reads `journeyer`'s journey repository (see the module's steps): the
/// days documented since the record was written, with their dates.
pub async fn read_journey(
    github: &GitHub,
    journeyer: &Journeyer,
    template: &Template,
    hint: Option<&PushHint>,
    today: Date,
    deadline: Option<Instant>,
    reading: &mut Reading,
) -> Result<Read, Fetch> {
    let user = &journeyer.record.user;
    let Some(repo) = &user.journey_repo else {
        return Ok(Read::Missing(Missing::NoRepo));
    };
    let full_name = repo.full_name();
    let stored = &journeyer.activity.journey;
    let same_repo = stored.repo.as_deref().is_some_and(|name| repo.is(name));
    let repo_etag = stored.repo_etag.as_deref().filter(|_| same_repo);
    let (branch, created_at, repo_etag) = match read_repo(
        github,
        &full_name,
        user.id.as_str(),
        repo_etag,
        deadline,
        reading,
    )
    .await?
    {
        RepoRead::Missing(missing) => return Ok(Read::Missing(missing)),
        RepoRead::Read(read, etag) => (read.default_branch, read.created_at, etag),
        RepoRead::Unchanged => match (&stored.branch, &stored.created_at) {
            (Some(branch), Some(created)) => {
                (branch.clone(), created.clone(), stored.repo_etag.clone())
            }
            // A 304 without what it stands for: read it whole.
            _ => match read_repo(
                github,
                &full_name,
                user.id.as_str(),
                None,
                deadline,
                reading,
            )
            .await?
            {
                RepoRead::Read(read, etag) => (read.default_branch, read.created_at, etag),
                RepoRead::Missing(missing) => return Ok(Read::Missing(missing)),
                RepoRead::Unchanged => return Ok(Read::Missing(Missing::NotPublic)),
            },
        },
    };
    let mut found = Found {
        repo: full_name.clone(),
        branch: branch.clone(),
        created_at: created_at.clone(),
        repo_etag,
        tree_etag: None,
        ..Found::default()
    };
    let same_branch = same_repo && stored.branch.as_deref() == Some(branch.as_str());
    let tree_etag = stored.tree_etag.as_deref().filter(|_| same_branch);
    let page = github
        .fetch(
            &format!("/repos/{full_name}/git/trees/{branch}?recursive=1"),
            tree_etag,
            false,
            deadline,
            reading,
        )
        .await?;
    if page.not_modified() {
        found.tree_etag = stored.tree_etag.clone();
        return Ok(Read::Found(found));
    }
    if page.status == 404 || page.status == 409 {
        // An empty repository (409) or a branch that is gone: no days.
        return Ok(Read::Found(found));
    }
    let page = page.checked()?;
    found.tree_etag = page.etag.clone();
    let tree: Tree = page.json("a tree")?;
    let recorded = if same_repo {
        stored.days.clone()
    } else {
        Default::default()
    };
    let undated: BTreeSet<DayNumber> = tree
        .tree
        .iter()
        .filter(|entry| entry.kind == "blob" && !template.is_placeholder(&entry.sha))
        .filter_map(|entry| DayNumber::of_path(&entry.path))
        .filter(|day| !recorded.contains(*day))
        .collect();
    if undated.is_empty() {
        return Ok(Read::Found(found));
    }
    let mut pushed = BTreeMap::new();
    if let Some(hint) = hint {
        for day in &undated {
            if hint.files.contains(&day.path())
                && let Some(at) = hint.at
            {
                pushed.insert(*day, at);
            }
        }
    }
    let mut waiting: BTreeSet<DayNumber> = undated
        .iter()
        .filter(|day| !pushed.contains_key(day))
        .copied()
        .collect();
    if !waiting.is_empty() {
        let (etag, newest) = push_dates(
            github,
            journeyer.activity.newest.as_deref(),
            user.id.as_str(),
            &full_name,
            &branch,
            template,
            &mut waiting,
            &mut pushed,
            deadline,
            reading,
        )
        .await?;
        found.events_etag = etag;
        found.newest_event = newest;
    }
    let created = parse_time(&created_at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    for day in undated {
        let commit = if pushed.contains_key(&day) {
            None
        } else {
            earliest_commit(github, &full_name, &branch, day, deadline, reading).await?
        };
        let date = day_date(pushed.get(&day).copied(), commit, created, today);
        found.dated.push((day, date));
    }
    Ok(Read::Found(found))
}

/// Dates the `waiting` days by the pushes GitHub lists (oldest first): the
/// first push whose changes hold the day's page as other than the
/// placeholder. Returns the events' first ETag and newest `created_at`.
#[allow(clippy::too_many_arguments)]
async fn push_dates(
    github: &GitHub,
    seen_before: Option<&str>,
    login: &str,
    full_name: &str,
    branch: &str,
    template: &Template,
    waiting: &mut BTreeSet<DayNumber>,
    pushed: &mut BTreeMap<DayNumber, OffsetDateTime>,
    deadline: Option<Instant>,
    reading: &mut Reading,
) -> Result<(Option<String>, Option<String>), Fetch> {
    let mut url = format!("/users/{login}/events/public?per_page=100");
    let mut pushes = Vec::new();
    let (mut first_etag, mut newest) = (None, None::<String>);
    for page_number in 0..MAX_EVENT_PAGES {
        let page = github.fetch(&url, None, false, deadline, reading).await?;
        if page.status == 404 {
            break;
        }
        let page = page.checked()?;
        if page_number == 0 {
            first_etag = page.etag.clone();
        }
        let events: Vec<Event> = page.json("a list of events")?;
        let wanted_ref = format!("refs/heads/{branch}");
        for event in &events {
            if let Some(at) = &event.created_at
                && newest.as_ref().is_none_or(|n| at > n)
            {
                newest = Some(at.clone());
            }
            let push = event.kind.as_deref() == Some("PushEvent")
                && event
                    .repo
                    .as_ref()
                    .is_some_and(|repo| repo.name.eq_ignore_ascii_case(full_name))
                && event.payload.git_ref.as_deref() == Some(wanted_ref.as_str());
            if !push {
                continue;
            }
            let at = event.created_at.as_deref().and_then(parse_time);
            if let (Some(at), Some(before), Some(head)) =
                (at, &event.payload.before, &event.payload.head)
            {
                pushes.push((at, before.clone(), head.clone()));
            }
        }
        match page.next {
            Some(next) if !events.is_empty() => url = next,
            _ => break,
        }
    }
    // Pushes an earlier read saw (up to the newest event it saw) were
    // compared then, or brought no documented day then: skipped. (A push
    // landing between an earlier read's tree and its events is the one
    // case left to the commits' dates; the webhook dates it on arrival.)
    let seen_before = seen_before.and_then(parse_time);
    pushes.retain(|(at, _, _)| seen_before.is_none_or(|seen| *at > seen));
    pushes.sort_by_key(|(at, _, _)| *at);
    for (at, before, head) in pushes.into_iter().take(MAX_COMPARES) {
        if waiting.is_empty() {
            break;
        }
        let page = github
            .fetch(
                &format!("/repos/{full_name}/compare/{before}...{head}"),
                None,
                false,
                deadline,
                reading,
            )
            .await?;
        if page.status != 200 {
            // A new branch's push (`before` all zeros), or history
            // rewritten since: this push tells nothing.
            continue;
        }
        let compare: Compare = page.json("a comparison")?;
        for file in compare.files {
            let Some(day) = DayNumber::of_path(&file.filename) else {
                continue;
            };
            let documented = file.status.as_deref() != Some("removed")
                && file
                    .sha
                    .as_deref()
                    .is_some_and(|sha| !template.is_placeholder(sha));
            if documented && waiting.remove(&day) {
                pushed.insert(day, at);
            }
        }
    }
    Ok((first_etag, newest))
}

/// The committer date of the earliest commit on `branch` that changed
/// `day`'s page, leaving out root commits (a template's copy is one).
async fn earliest_commit(
    github: &GitHub,
    full_name: &str,
    branch: &str,
    day: DayNumber,
    deadline: Option<Instant>,
    reading: &mut Reading,
) -> Result<Option<OffsetDateTime>, Fetch> {
    let mut url = format!(
        "/repos/{full_name}/commits?sha={branch}&path={}&per_page=100",
        day.path()
    );
    let mut earliest = None;
    for _ in 0..MAX_COMMIT_PAGES {
        let page = github.fetch(&url, None, false, deadline, reading).await?;
        if page.status == 404 || page.status == 409 {
            break;
        }
        let page = page.checked()?;
        let commits: Vec<Commit> = page.json("a list of commits")?;
        for commit in &commits {
            if commit.parents.is_empty() {
                continue;
            }
            let at = commit
                .commit
                .committer
                .as_ref()
                .and_then(|c| c.date.as_deref())
                .and_then(parse_time);
            if let Some(at) = at
                && earliest.is_none_or(|e| at < e)
            {
                earliest = Some(at);
            }
        }
        match page.next {
            Some(next) if !commits.is_empty() => url = next,
            _ => break,
        }
    }
    Ok(earliest)
}
