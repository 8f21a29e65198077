//! A GitHub REST API stand-in for the activity job's tests: it serves
//! `GET /users/{login}/events/public` as GitHub documents it, and counts
//! every request.
//!
//! - Event objects in GitHub's shape (`id`, `type`, `actor`, `repo`,
//!   `payload`, `public`, `created_at`), newest first, `per_page` (at most
//!   100) a page, at most 300 events, paged by `?page=N` with `Link:
//!   <...>; rel="next", <...>; rel="last"` (and `prev`/`first`).
//! - An `ETag` on every page; `If-None-Match` with the page's ETag is a 304.
//! - The primary rate limit: `X-RateLimit-Limit`, `-Remaining`, `-Used`,
//!   `-Reset`, `-Resource` on every answer; each request counts, except a
//!   304 to an authorized request (`Authorization` set), as on GitHub;
//!   with nothing remaining, a 403 `API rate limit exceeded` until the reset,
//!   which refills it.
//! - What a test plans: an account that answers 404 (renamed or deleted) or
//!   a 5xx, and one-off answers such as a secondary rate limit (403 with
//!   `Retry-After`).
//! - A request without `User-Agent` is refused with a 403, as GitHub does.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hdoc_shared::clock::Clock;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One public event.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: u64,
    pub kind: String,
    pub created_at: String,
    /// The repository (`owner/name`; default `<login>/100DaysOfCloud`).
    pub repo: Option<String>,
    /// The payload (default: a push's, without its SHAs).
    pub payload: Option<Value>,
}

/// What an account answers.
#[derive(Clone, Debug)]
pub enum Account {
    /// Its events, in any order (served newest first).
    Events(Vec<Event>),
    /// Every request answers this status (404: renamed or deleted; 500, 502...).
    Status(u16),
}

/// A one-off answer, served before the account's own.
#[derive(Clone, Debug)]
pub enum Planned {
    /// A secondary rate limit: 403 with `Retry-After: seconds`.
    Secondary { retry_after: u64 },
    /// A status with GitHub's error body.
    Status(u16),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub login: String,
    pub page: usize,
    pub status: u16,
    /// Whether it counted against the primary rate limit.
    pub counted: bool,
    pub if_none_match: Option<String>,
    pub authorized: bool,
    pub user_agent: Option<String>,
}

#[derive(Debug)]
struct Rate {
    limit: u64,
    remaining: u64,
    /// Seconds since the epoch.
    reset: i64,
}

#[derive(Debug)]
struct World {
    base: String,
    accounts: HashMap<String, Account>,
    planned: HashMap<String, VecDeque<Planned>>,
    rate: Rate,
    seen: Vec<Seen>,
    /// What time it is for the rate limit's resets (a test's clock, or the system's).
    clock: Clock,
    /// Repositories by lowercased `owner/name`.
    repos: HashMap<String, Repo>,
    /// Makes SHAs and ids unique.
    counter: u64,
}

/// One commit of a stand-in repository.
#[derive(Clone, Debug)]
pub struct Commit {
    pub sha: String,
    pub parent: Option<String>,
    /// The committer date, as the committer set it (trusted by nobody).
    pub date: String,
    /// The files it changed: path and new blob SHA.
    pub files: Vec<(String, String)>,
}

/// A stand-in repository: a default branch `main` made of commits.
#[derive(Clone, Debug)]
pub struct Repo {
    pub full_name: String,
    pub owner: String,
    pub created_at: String,
    pub private: bool,
    pub readme: Option<String>,
    /// Oldest first; the last is the branch's head.
    pub commits: Vec<Commit>,
}

impl Repo {
    fn head(&self) -> Option<&Commit> {
        self.commits.last()
    }

    /// The tree at the head: path -> blob SHA.
    fn tree(&self) -> BTreeMap<String, String> {
        let mut tree = BTreeMap::new();
        for commit in &self.commits {
            for (path, sha) in &commit.files {
                tree.insert(path.clone(), sha.clone());
            }
        }
        tree
    }
}

/// The blob SHA of the template's placeholder page (a day not documented).
pub const PLACEHOLDER: &str = "5e1c309dae7f45e0f39b1bf3ac3cd9db12e7d689";
/// The template repository the job reads its placeholder from.
pub const TEMPLATE: &str = "100DaysOfCloud/100DaysOfCloud";

/// The 100 day pages, each the placeholder.
fn template_files() -> Vec<(String, String)> {
    (1..=100)
        .map(|n| (format!("Journey/{n:03}/Readme.md"), PLACEHOLDER.to_owned()))
        .chain([(
            "README.md".to_owned(),
            "1111111111111111111111111111111111111111".to_owned(),
        )])
        .collect()
}

/// The running server.
pub struct FakeGitHub {
    /// Its base URL (what `HDOC_GITHUB_API` is set to).
    pub base: String,
    world: Arc<Mutex<World>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl World {
    /// Seconds since the epoch, by the world's clock.
    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// A fresh 40-hex SHA.
    fn sha(&mut self) -> String {
        self.counter += 1;
        format!("{:040x}", 0xabc0_0000_u64 + self.counter)
    }
}

/// An event of `kind` at `created_at`.
pub fn event(id: u64, kind: &str, created_at: &str) -> Event {
    Event {
        id,
        kind: kind.to_owned(),
        created_at: created_at.to_owned(),
        repo: None,
        payload: None,
    }
}

/// One `PushEvent` at each of `times`.
pub fn pushes(times: &[&str]) -> Vec<Event> {
    times
        .iter()
        .enumerate()
        .map(|(i, at)| event(i as u64 + 1, "PushEvent", at))
        .collect()
}

impl FakeGitHub {
    /// Starts one on a free loopback port, with a fresh rate limit of 5,000.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the fake GitHub");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let world = Arc::new(Mutex::new(World {
            base: base.clone(),
            accounts: HashMap::new(),
            planned: HashMap::new(),
            rate: Rate {
                limit: 5000,
                remaining: 5000,
                reset: time::OffsetDateTime::now_utc().unix_timestamp() + 3600,
            },
            seen: Vec::new(),
            clock: Clock::system(),
            repos: HashMap::new(),
            counter: 0,
        }));
        let app = axum::Router::new()
            .route("/users/{login}/events/public", axum::routing::get(events))
            .route("/repos/{owner}/{name}", axum::routing::get(repo_route))
            .route(
                "/repos/{owner}/{name}/readme",
                axum::routing::get(readme_route),
            )
            .route(
                "/repos/{owner}/{name}/git/trees/{sha}",
                axum::routing::get(tree_route),
            )
            .route(
                "/repos/{owner}/{name}/commits",
                axum::routing::get(commits_route),
            )
            .route(
                "/repos/{owner}/{name}/compare/{range}",
                axum::routing::get(compare_route),
            )
            .fallback(|| async { (StatusCode::NOT_FOUND, "{\"message\":\"Not Found\"}") })
            .with_state(world.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake GitHub serves");
        });
        Self {
            base,
            world,
            server,
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets what `login` answers.
    pub fn set(&self, login: &str, account: Account) {
        self.world().accounts.insert(login.to_lowercase(), account);
    }

    /// Adds `events` to `login`'s (an account that answered a status starts afresh).
    pub fn add(&self, login: &str, events: Vec<Event>) {
        let mut world = self.world();
        let account = world
            .accounts
            .entry(login.to_lowercase())
            .or_insert_with(|| Account::Events(Vec::new()));
        match account {
            Account::Events(list) => list.extend(events),
            other => *other = Account::Events(events),
        }
    }

    /// Queues a one-off answer for the next request about `login`.
    pub fn plan(&self, login: &str, planned: Planned) {
        self.world()
            .planned
            .entry(login.to_lowercase())
            .or_default()
            .push_back(planned);
    }

    /// Sets the primary rate limit: `remaining` requests until `reset_in`
    /// seconds from now, when it refills to 5,000.
    pub fn set_rate(&self, remaining: u64, reset_in: i64) {
        let mut world = self.world();
        world.rate.remaining = remaining;
        world.rate.reset = world.now() + reset_in;
    }

    /// Serves the Journey Template ([`TEMPLATE`]): 100 placeholder pages.
    pub fn template(&self) {
        let mut world = self.world();
        let sha = world.sha();
        world.repos.insert(
            TEMPLATE.to_lowercase(),
            Repo {
                full_name: TEMPLATE.to_owned(),
                owner: "100DaysOfCloud".to_owned(),
                created_at: "2020-07-01T00:00:00Z".to_owned(),
                private: false,
                readme: Some("# 100 Days Of Cloud".to_owned()),
                commits: vec![Commit {
                    sha,
                    parent: None,
                    date: "2020-07-01T00:00:00Z".to_owned(),
                    files: template_files(),
                }],
            },
        );
    }

    /// Makes `owner/name`, a copy of the template made at `created_at`
    /// (one root commit, as "Use this template" makes it).
    pub fn copy_template(&self, owner: &str, name: &str, created_at: &str) {
        let mut world = self.world();
        let sha = world.sha();
        let full_name = format!("{owner}/{name}");
        world.repos.insert(
            full_name.to_lowercase(),
            Repo {
                full_name,
                owner: owner.to_owned(),
                created_at: created_at.to_owned(),
                private: false,
                readme: Some("# My journey".to_owned()),
                commits: vec![Commit {
                    sha,
                    parent: None,
                    date: created_at.to_owned(),
                    files: template_files(),
                }],
            },
        );
    }

    /// Changes a repository (its README, whether it is private, ...).
    pub fn change_repo(&self, full_name: &str, change: impl FnOnce(&mut Repo)) {
        let mut world = self.world();
        let repo = world
            .repos
            .get_mut(&full_name.to_lowercase())
            .expect("a stand-in repository");
        change(repo);
    }

    /// Commits `days`' pages (documented: new content) dated `committed`
    /// (any date the committer likes) to `owner/name`, without a push
    /// GitHub still lists (older than its 90 days of events). The commit's SHA.
    pub fn commit(&self, full_name: &str, days: &[u32], committed: &str) -> String {
        let mut world = self.world();
        let files: Vec<(String, String)> = days
            .iter()
            .map(|n| (format!("Journey/{n:03}/Readme.md"), world.sha()))
            .collect();
        let sha = world.sha();
        let repo = world
            .repos
            .get_mut(&full_name.to_lowercase())
            .expect("a stand-in repository");
        let parent = repo.head().map(|c| c.sha.clone());
        repo.commits.push(Commit {
            sha: sha.clone(),
            parent,
            date: committed.to_owned(),
            files,
        });
        sha
    }

    /// Commits `days` dated `committed` and pushes at `pushed`: the push
    /// shows in the owner's public events, in today's payload shape.
    pub fn push(&self, full_name: &str, days: &[u32], committed: &str, pushed: &str) -> String {
        let before = {
            let world = self.world();
            world.repos[&full_name.to_lowercase()]
                .head()
                .map(|c| c.sha.clone())
                .unwrap_or_default()
        };
        let head = self.commit(full_name, days, committed);
        let owner = self.world().repos[&full_name.to_lowercase()].owner.clone();
        let id = {
            let mut world = self.world();
            world.counter += 1;
            world.counter
        };
        let mut event = event(id + 10_000, "PushEvent", pushed);
        event.repo = Some(full_name.to_owned());
        event.payload = Some(json!({
            "repository_id": 1296269,
            "push_id": id,
            "ref": "refs/heads/main",
            "head": head,
            "before": before,
        }));
        self.add(&owner, vec![event]);
        head
    }

    /// Goes by `clock` (the one the test moves on) from now on.
    pub fn set_clock(&self, clock: Clock) {
        self.world().clock = clock;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.world().seen.clone()
    }

    /// Requests so far.
    pub fn requests(&self) -> usize {
        self.world().seen.len()
    }

    /// Requests so far that counted against the rate limit.
    pub fn counted(&self) -> usize {
        self.world().seen.iter().filter(|seen| seen.counted).count()
    }

    /// Requests so far, by status.
    pub fn by_status(&self) -> BTreeMap<u16, usize> {
        let mut counts = BTreeMap::new();
        for seen in &self.world().seen {
            *counts.entry(seen.status).or_default() += 1;
        }
        counts
    }

    /// Forgets the requests seen so far.
    pub fn clear_seen(&self) {
        self.world().seen.clear();
    }
}

/// A page's ETag: a hash of what it holds, weak as GitHub's are.
fn etag_of(body: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("W/\"{:016x}\"", hasher.finish())
}

fn event_json(login: &str, event: &Event) -> Value {
    json!({
        "id": event.id.to_string(),
        "type": event.kind,
        "actor": {
            "id": 583231,
            "login": login,
            "display_login": login,
            "gravatar_id": "",
            "url": format!("https://api.github.com/users/{login}"),
            "avatar_url": "https://avatars.githubusercontent.com/u/583231?"
        },
        "repo": {
            "id": 1296269,
            "name": event.repo.clone().unwrap_or_else(|| format!("{login}/100DaysOfCloud")),
            "url": format!(
                "https://api.github.com/repos/{}",
                event.repo.clone().unwrap_or_else(|| format!("{login}/100DaysOfCloud"))
            )
        },
        "payload": event.payload.clone().unwrap_or_else(|| json!({
            "repository_id": 1296269,
            "push_id": event.id,
            "ref": "refs/heads/main",
            "head": "0000000000000000000000000000000000000001",
            "before": "0000000000000000000000000000000000000000"
        })),
        "public": true,
        "created_at": event.created_at,
    })
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

async fn events(
    State(world): State<Arc<Mutex<World>>>,
    Path(login): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let per_page: usize = query
        .get("per_page")
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = query
        .get("page")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    serve(&world, &login, page, &headers, |world, seen| {
        answer(world, &login, page, per_page, seen)
    })
}

/// Serves one request as GitHub would: the rate limit's bookkeeping and
/// headers around `respond`'s answer, and the request recorded.
fn serve(
    world: &Arc<Mutex<World>>,
    login: &str,
    page: usize,
    headers: &HeaderMap,
    respond: impl FnOnce(&mut World, &Seen) -> (Response, bool),
) -> Response {
    let mut world = world.lock().unwrap_or_else(|p| p.into_inner());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut seen = Seen {
        login: login.to_owned(),
        page,
        status: 200,
        counted: true,
        if_none_match: header("if-none-match"),
        authorized: header("authorization").is_some_and(|v| v.starts_with("Bearer ")),
        user_agent: header("user-agent"),
    };
    if world.now() >= world.rate.reset {
        world.rate.remaining = world.rate.limit;
        world.rate.reset = world.now() + 3600;
    }
    let (response, counted) = match refused(&mut world, &seen) {
        Some(refused) => refused,
        None => respond(&mut world, &seen),
    };
    seen.status = response.status().as_u16();
    seen.counted = counted;
    if counted {
        world.rate.remaining = world.rate.remaining.saturating_sub(1);
    }
    let mut response = response;
    let rate = &world.rate;
    for (name, value) in [
        ("x-ratelimit-limit", rate.limit.to_string()),
        ("x-ratelimit-remaining", rate.remaining.to_string()),
        (
            "x-ratelimit-used",
            (rate.limit - rate.remaining).to_string(),
        ),
        ("x-ratelimit-reset", rate.reset.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    world.seen.push(seen);
    response
}

/// A refusal before anything is looked at: no `User-Agent`, the rate
/// limit spent, or a planned one-off answer for the account.
fn refused(world: &mut World, seen: &Seen) -> Option<(Response, bool)> {
    if seen.user_agent.as_deref().is_none_or(str::is_empty) {
        let message = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header";
        return Some((error(StatusCode::FORBIDDEN, message), false));
    }
    if world.rate.remaining == 0 {
        let message = "API rate limit exceeded for 203.0.113.7. (But here's the good news: Authenticated requests get a higher rate limit.)";
        return Some((error(StatusCode::FORBIDDEN, message), false));
    }
    let key = seen.login.to_lowercase();
    let planned = world.planned.get_mut(&key).and_then(VecDeque::pop_front)?;
    Some(match planned {
        Planned::Secondary { retry_after } => {
            let mut response = error(
                StatusCode::FORBIDDEN,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            );
            response.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&retry_after.to_string()).expect("a number"),
            );
            (response, true)
        }
        Planned::Status(status) => {
            let status = StatusCode::from_u16(status).expect("a status");
            (error(status, "Server Error"), true)
        }
    })
}

/// A JSON answer with its ETag; a 304 when `If-None-Match` holds it (which
/// costs an authorized request nothing, as on GitHub).
fn json_answer(body: String, seen: &Seen, extra: Vec<(&'static str, String)>) -> (Response, bool) {
    let etag = etag_of(&body);
    let mut headers = vec![
        ("etag", etag.clone()),
        (
            "cache-control",
            "private, max-age=60, s-maxage=60".to_owned(),
        ),
        ("vary", "Accept, Authorization, Cookie".to_owned()),
    ];
    headers.extend(extra);
    let not_modified = seen.if_none_match.as_deref() == Some(etag.as_str());
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [("content-type", "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    };
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).expect("a header"));
    }
    (response, !(not_modified && seen.authorized))
}

fn not_found() -> (Response, bool) {
    (error(StatusCode::NOT_FOUND, "Not Found"), true)
}

/// The public repository `owner/name`, if the world has it.
fn public_repo<'w>(world: &'w World, owner: &str, name: &str) -> Option<&'w Repo> {
    world
        .repos
        .get(&format!("{owner}/{name}").to_lowercase())
        .filter(|repo| !repo.private)
}

fn commit_json(commit: &Commit, full_name: &str) -> Value {
    let who = json!({"name": "J", "email": "j@example.com", "date": commit.date});
    json!({
        "sha": commit.sha,
        "url": format!("https://api.github.com/repos/{full_name}/commits/{}", commit.sha),
        "commit": {"author": who, "committer": who, "message": "a day"},
        "parents": commit.parent.iter().map(|sha| json!({"sha": sha})).collect::<Vec<_>>(),
    })
}

async fn repo_route(
    State(world): State<Arc<Mutex<World>>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    serve(&world, &owner.clone(), 1, &headers, |world, seen| {
        let Some(repo) = world.repos.get(&format!("{owner}/{name}").to_lowercase()) else {
            return not_found();
        };
        if repo.private {
            return not_found();
        }
        let body = json!({
            "id": 1296269,
            "name": name,
            "full_name": repo.full_name,
            "owner": {"login": repo.owner, "id": 1, "type": "User"},
            "private": repo.private,
            "visibility": "public",
            "fork": false,
            "default_branch": "main",
            "created_at": repo.created_at,
            "pushed_at": repo.head().map(|c| c.date.clone()),
        });
        json_answer(body.to_string(), seen, Vec::new())
    })
}

async fn readme_route(
    State(world): State<Arc<Mutex<World>>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let raw = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("raw"));
    serve(&world, &owner.clone(), 1, &headers, |world, seen| {
        let Some(readme) = public_repo(world, &owner, &name).and_then(|r| r.readme.clone()) else {
            return not_found();
        };
        if raw {
            (
                (
                    StatusCode::OK,
                    [("content-type", "text/plain; charset=utf-8")],
                    readme,
                )
                    .into_response(),
                true,
            )
        } else {
            let body = json!({"name": "README.md", "path": "README.md", "type": "file",
                "encoding": "none", "content": readme});
            json_answer(body.to_string(), seen, Vec::new())
        }
    })
}

async fn tree_route(
    State(world): State<Arc<Mutex<World>>>,
    Path((owner, name, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    serve(&world, &owner.clone(), 1, &headers, |world, seen| {
        let Some(repo) = public_repo(world, &owner, &name) else {
            return not_found();
        };
        if sha != "main" && repo.head().is_none_or(|c| c.sha != sha) {
            return not_found();
        }
        let mut entries = vec![json!({"path": "Journey", "mode": "040000", "type": "tree",
            "sha": "2222222222222222222222222222222222222222"})];
        for (path, blob) in repo.tree() {
            entries.push(json!({"path": path, "mode": "100644", "type": "blob",
                "sha": blob, "size": 120}));
        }
        let body = json!({
            "sha": repo.head().map(|c| c.sha.clone()),
            "tree": entries,
            "truncated": false,
        });
        json_answer(body.to_string(), seen, Vec::new())
    })
}

async fn commits_route(
    State(world): State<Arc<Mutex<World>>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    serve(&world, &owner.clone(), 1, &headers, |world, seen| {
        let Some(repo) = public_repo(world, &owner, &name) else {
            return not_found();
        };
        let path = query.get("path");
        let list: Vec<Value> = repo
            .commits
            .iter()
            .rev()
            .filter(|c| path.is_none_or(|p| c.files.iter().any(|(f, _)| f == p)))
            .map(|c| commit_json(c, &repo.full_name))
            .collect();
        json_answer(Value::Array(list).to_string(), seen, Vec::new())
    })
}

async fn compare_route(
    State(world): State<Arc<Mutex<World>>>,
    Path((owner, name, range)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    serve(&world, &owner.clone(), 1, &headers, |world, seen| {
        let Some(repo) = public_repo(world, &owner, &name) else {
            return not_found();
        };
        let Some((base, head)) = range.split_once("...") else {
            return not_found();
        };
        let index = |sha: &str| repo.commits.iter().position(|c| c.sha == sha);
        let (Some(base), Some(head)) = (index(base), index(head)) else {
            return not_found();
        };
        let between = &repo.commits[base + 1..=head.max(base)];
        let mut files = BTreeMap::new();
        for commit in between {
            for (path, blob) in &commit.files {
                files.insert(path.clone(), blob.clone());
            }
        }
        let body = json!({
            "status": "ahead",
            "ahead_by": between.len(),
            "behind_by": 0,
            "total_commits": between.len(),
            "commits": between.iter().map(|c| commit_json(c, &repo.full_name)).collect::<Vec<_>>(),
            "files": files.iter().map(|(path, blob)| json!({
                "sha": blob, "filename": path, "status": "modified",
                "additions": 10, "deletions": 1, "changes": 11
            })).collect::<Vec<_>>(),
        });
        json_answer(body.to_string(), seen, Vec::new())
    })
}

/// The answer, and whether it counts against the rate limit.
fn answer(
    world: &mut World,
    login: &str,
    page: usize,
    per_page: usize,
    seen: &Seen,
) -> (Response, bool) {
    let key = login.to_lowercase();
    let events = match world.accounts.get(&key) {
        None => Vec::new(),
        Some(Account::Status(status)) => {
            let status = StatusCode::from_u16(*status).expect("a status");
            let message = if status == StatusCode::NOT_FOUND {
                "Not Found"
            } else {
                "Server Error"
            };
            return (error(status, message), true);
        }
        Some(Account::Events(events)) => events.clone(),
    };
    let mut events = events;
    events.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    events.truncate(300);
    let pages = events.len().div_ceil(per_page).max(1);
    if page > pages {
        // GitHub answers an empty list past the last page (and a 422 past
        // its 300 events).
        if page * per_page > 300 {
            let message = "In order to keep the API fast for everyone, pagination is limited for this resource.";
            return (error(StatusCode::UNPROCESSABLE_ENTITY, message), true);
        }
    }
    let shown: Vec<Value> = events
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|event| event_json(login, event))
        .collect();
    let body = Value::Array(shown).to_string();
    let etag = etag_of(&body);
    let link = |n: usize, rel: &str| {
        format!(
            "<{}/users/{login}/events/public?per_page={per_page}&page={n}>; rel=\"{rel}\"",
            world.base
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link(page - 1, "prev"));
        links.push(link(1, "first"));
    }
    if page < pages {
        links.push(link(page + 1, "next"));
        links.push(link(pages, "last"));
    }
    let mut headers = vec![
        ("etag", etag.clone()),
        (
            "cache-control",
            "private, max-age=60, s-maxage=60".to_owned(),
        ),
        ("x-poll-interval", "60".to_owned()),
        ("vary", "Accept, Authorization, Cookie".to_owned()),
    ];
    if !links.is_empty() {
        headers.push(("link", links.join(", ")));
    }
    if seen.if_none_match.as_deref() == Some(etag.as_str()) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        for (name, value) in headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_str(&value).expect("a header"));
        }
        // GitHub: a 304 to an authorized request costs no rate limit.
        return (response, !seen.authorized);
    }
    let mut response = (
        StatusCode::OK,
        [("content-type", "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).expect("a header"));
    }
    (response, true)
}
