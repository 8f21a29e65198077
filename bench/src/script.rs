//! Event files sent to the functions' bootstraps in order, each answer checked:
//! the smoke test, and the seeding of the benchmark.

use crate::lambda::Instance;
use crate::runtime::Outcome;
use crate::store::Stores;
use crate::template::{self, Function};
use axum::body::Bytes;
use hdoc_shared::domain::{NewReview, ReviewId, Timestamp, UserId};
use hdoc_shared::http::extract::parse_json;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a step expects.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// An API Gateway response with this status code.
    Status(u16),
    /// A background function's success (a `/response`, not an `/error`).
    Done,
}

/// One step of a script.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Send `events/<file>` to the function whose binary its name starts with.
    Event(&'static str, Expect),
    /// Store the review the `reviews-*` events name (their id is fixed).
    SeedReview,
    /// Tell `photo-uploaded` of the photo the last `reviews-photos.json` reserved,
    /// with an S3 notification as S3 sends it.
    PhotoUploaded,
    /// Give alice a journey repository and mark her verified, as the
    /// verification check would (the stand-in has no README to check).
    VerifyAlice,
    /// Check that the activity function (the journey job) recorded alice's
    /// day 1, dated today (from the stand-in GitHub, over TLS).
    ActivityRecorded,
}

use Expect::{Done, Status};
use Step::{ActivityRecorded, Event, PhotoUploaded, SeedReview, VerifyAlice};

/// Every event file, in an order whose statuses are known (tests/api/lambda.rs
/// drives the routers through the same order), and the background functions'
/// events after the deletion they follow.
pub const SMOKE: &[Step] = &[
    Event("users-create.json", Status(201)),
    Event("users-get.json", Status(200)),
    Event("users-list.json", Status(200)),
    Event("users-update.json", Status(200)),
    Event("users-me.json", Status(200)),
    Event("leaderboard-get.json", Status(200)),
    Event("leaderboard-week.json", Status(200)),
    Event("users-verification.json", Status(201)),
    // alice has no journey repository yet: the check says so (no GitHub asked).
    Event("users-verification-check.json", Status(422)),
    // Unsigned: refused before anything is read.
    Event("github-webhook.json", Status(401)),
    VerifyAlice,
    // alice's journey repository, from the bench's stand-in GitHub.
    Event("activity-schedule.json", Done),
    ActivityRecorded,
    Event("users-journey.json", Status(200)),
    Event("users-badge.json", Status(200)),
    Event("articles-create.json", Status(201)),
    Event("articles-get.json", Status(200)),
    Event("articles-list.json", Status(200)),
    Event("tags-get.json", Status(200)),
    Event("tags-list.json", Status(200)),
    Event("articles-update.json", Status(200)),
    Event("articles-delete.json", Status(204)),
    Event("articles-get.json", Status(404)),
    Event("tags-get.json", Status(404)),
    Event("reviews-create.json", Status(201)),
    Event("reviews-list.json", Status(200)),
    SeedReview,
    Event("reviews-get.json", Status(200)),
    Event("reviews-update.json", Status(200)),
    Event("reviews-photos.json", Status(201)),
    PhotoUploaded,
    Event("ratings-put.json", Status(200)),
    Event("ratings-mine.json", Status(200)),
    Event("ratings-get.json", Status(200)),
    Event("ratings-delete.json", Status(204)),
    Event("ratings-mine.json", Status(404)),
    Event("reviews-delete.json", Status(204)),
    Event("reviews-get.json", Status(404)),
    Event("users-delete.json", Status(204)),
    Event("users-get.json", Status(404)),
    Event("users-me.json", Status(404)),
    Event("purge-user-stream.json", Done),
    Event("reconcile-schedule.json", Done),
    Event("users-get.json", Status(404)),
    // An admin signs in; no user pool answers here, so the trigger cannot
    // see a second factor and leaves `admin` out (checked below).
    Event("pre-token-admin.json", Done),
];

/// What the benchmark's events read: alice, her article, her review and rating.
pub const SEED: &[Step] = &[
    Event("users-create.json", Status(201)),
    Event("users-update.json", Status(200)),
    Event("articles-create.json", Status(201)),
    Event("reviews-create.json", Status(201)),
    SeedReview,
    Event("ratings-put.json", Status(200)),
];

/// The repository's `events/` directory.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// The contents of `events/<name>`.
pub fn event(name: &str) -> Result<Bytes, String> {
    let path = events_dir().join(name);
    std::fs::read(&path)
        .map(Bytes::from)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The function an event file belongs to: the one whose binary names the
/// file (`purge-user-stream.json` is `purge-user`'s), the longest name first.
pub fn owner<'f>(functions: &'f [Function], file: &str) -> Option<&'f Function> {
    functions
        .iter()
        .filter(|f| file.starts_with(&format!("{}-", f.binary)))
        .max_by_key(|f| f.binary.len())
}

/// Checks an answer against what the step expects; the API Gateway response's
/// body, if any.
pub fn check(name: &str, outcome: &Outcome, expect: Expect) -> Result<Value, String> {
    let body = match outcome {
        Outcome::Response(body) => body,
        Outcome::Error(body) => {
            return Err(format!(
                "{name}: the function failed: {}",
                String::from_utf8_lossy(body)
            ));
        }
    };
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| format!("{name}: the answer is not JSON ({e}): {body:?}"))?;
    match expect {
        Done => Ok(json),
        Status(want) => {
            let got = json["statusCode"].as_u64();
            if got != Some(u64::from(want)) {
                return Err(format!(
                    "{name}: status {got:?}, expected {want}; the answer: {json}"
                ));
            }
            let body = json["body"].as_str().unwrap_or_default();
            let parsed = shape(want, &json["headers"], body)
                .map_err(|e| format!("{name}: status {want}, but {e}; the answer: {json}"))?;
            Ok(parsed)
        }
    }
}

/// The content type and body shape of an API Gateway answer with `status`:
/// a 204 has no body; a success is a JSON object or array
/// (`application/json`), or the badge, an SVG document (`image/svg+xml`,
/// given as a string); an error a problem document
/// (`application/problem+json`) whose `status` is the answer's. The body, parsed.
pub fn shape(status: u16, headers: &Value, body: &str) -> Result<Value, String> {
    let content_type = headers
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        })
        .and_then(|(_, v)| v.as_str());
    if status == 204 {
        return match body.is_empty() {
            true => Ok(Value::Null),
            false => Err(format!("a body: {body}")),
        };
    }
    if status == 200 && content_type == Some("image/svg+xml") {
        let svg = body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")
            && body.ends_with("</svg>");
        return match svg {
            true => Ok(Value::String(body.to_owned())),
            false => Err(format!(
                "an image/svg+xml body that is no SVG document: {body}"
            )),
        };
    }
    let want = if status < 400 {
        "application/json"
    } else {
        "application/problem+json"
    };
    if !content_type.is_some_and(|t| t.starts_with(want)) {
        return Err(format!("content type {content_type:?}, expected {want}"));
    }
    let parsed: Value =
        serde_json::from_str(body).map_err(|e| format!("a body that is not JSON ({e})"))?;
    let fits = if status < 400 {
        parsed.is_object() || parsed.is_array()
    } else {
        parsed["status"].as_u64() == Some(u64::from(status)) && parsed["title"].is_string()
    };
    match fits {
        true => Ok(parsed),
        false => Err(format!("a body of the wrong shape: {body}")),
    }
}

/// Runs `steps`: each function's bootstrap is started (a cold start) at its
/// first event and kept for the next ones, as one execution environment.
pub struct Runner<'a> {
    pub functions: &'a [Function],
    pub bin_dir: &'a Path,
    pub stores: &'a Stores,
    pub logs: &'a Path,
    pub verbose: bool,
    /// Invoke through `sam local invoke` instead of this emulator.
    pub sam: Option<crate::sam::Sam>,
    instances: BTreeMap<String, Instance>,
    /// The functions `sam` invoked.
    invoked: std::collections::BTreeSet<String>,
    last_upload_key: Option<String>,
}

impl<'a> Runner<'a> {
    pub fn new(
        functions: &'a [Function],
        bin_dir: &'a Path,
        stores: &'a Stores,
        logs: &'a Path,
    ) -> Self {
        Self {
            functions,
            bin_dir,
            stores,
            logs,
            verbose: false,
            sam: None,
            instances: BTreeMap::new(),
            invoked: std::collections::BTreeSet::new(),
            last_upload_key: None,
        }
    }

    /// The binaries started so far.
    pub fn started(&self) -> impl Iterator<Item = &String> {
        self.instances.keys().chain(&self.invoked)
    }

    async fn instance(&mut self, function: &Function) -> Result<&mut Instance, String> {
        if !self.instances.contains_key(&function.binary) {
            let binary = self.bin_dir.join(&function.binary);
            if !binary.exists() {
                return Err(format!(
                    "{} is missing: build the bootstraps first (cargo build --workspace --bins)",
                    binary.display()
                ));
            }
            let log = self.logs.join(format!("{}.log", function.binary));
            let instance = Instance::cold_start(
                &binary,
                function,
                function.memory_mb,
                self.stores,
                None,
                log,
            )
            .await
            .map_err(|e| format!("{}: {e}", function.binary))?;
            if self.verbose {
                println!("  {} started (Init {:?})", function.binary, instance.init);
            }
            self.instances.insert(function.binary.clone(), instance);
        }
        self.instances
            .get_mut(&function.binary)
            .ok_or_else(|| "just started".to_owned())
    }

    /// Sends `event` to `binary`'s function and checks the answer.
    async fn send(
        &mut self,
        binary: &str,
        label: &str,
        event: Bytes,
        expect: Expect,
    ) -> Result<Value, String> {
        let function = self
            .functions
            .iter()
            .find(|f| f.binary == binary)
            .ok_or(format!(
                "template.yaml has no function with Binary {binary}"
            ))?
            .clone();
        if let Some(sam) = &self.sam {
            let (outcome, took, log) = sam.invoke(&function, label, event).await?;
            self.invoked.insert(function.binary.clone());
            let body = check(label, &outcome, expect).map_err(|e| format!("{e}\n{log}"))?;
            if self.verbose {
                println!(
                    "  {label:<28} -> {binary:<15} {expect:?} in {took:.1?} (sam local invoke)"
                );
            }
            return Ok(body);
        }
        let instance = self.instance(&function).await?;
        let (outcome, took) = instance.invoke(event).await?;
        let body = check(label, &outcome, expect)
            .map_err(|e| format!("{e}\n{}", crate::lambda::tail(&instance.log)))?;
        if self.verbose {
            println!("  {label:<28} -> {binary:<15} {expect:?} in {took:?}");
        }
        Ok(body)
    }

    /// Runs `steps` in order; the first failure stops the run.
    pub async fn run(&mut self, steps: &[Step]) -> Result<(), String> {
        for step in steps {
            match *step {
                Event(name, expect) => {
                    let function = owner(self.functions, name)
                        .ok_or(format!("{name}: no function's binary prefixes its name"))?;
                    let binary = function.binary.clone();
                    let body = self.send(&binary, name, event(name)?, expect).await?;
                    if name == "reviews-photos.json" {
                        self.last_upload_key = upload_key(&body);
                    }
                    if name == "pre-token-admin.json" {
                        let groups = &body["response"]["claimsAndScopeOverrideDetails"]["groupOverrideDetails"]
                            ["groupsToOverride"];
                        if *groups != serde_json::json!([]) {
                            return Err(format!(
                                "pre-token kept the admin group without a second factor: {body}"
                            ));
                        }
                    }
                }
                SeedReview => seed_review(self.stores).await?,
                VerifyAlice => verify_alice(self.stores).await?,
                ActivityRecorded => activity_recorded(self.stores).await?,
                PhotoUploaded => {
                    let key = self
                        .last_upload_key
                        .clone()
                        .ok_or("no photo reserved before PhotoUploaded")?;
                    let event = s3_event(&key);
                    self.send(
                        "photo-uploaded",
                        "S3 ObjectCreated (made here)",
                        event,
                        Done,
                    )
                    .await?;
                    // The answer says nothing: the review must now list the photo.
                    let review = self
                        .stores
                        .state
                        .repo
                        .review(&seeded_review_id()?)
                        .await
                        .map_err(|e| format!("reading the review: {e}"))?;
                    if review.photos.is_empty() {
                        return Err(format!(
                            "photo-uploaded answered, but the review lists no photo (key {key})"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops every bootstrap.
    pub async fn stop(&mut self) {
        for (_, instance) in std::mem::take(&mut self.instances) {
            instance.stop().await;
        }
    }
}

/// The object key of a photo upload answer (`POST /reviews/{id}/photos`).
fn upload_key(body: &Value) -> Option<String> {
    if let Some(key) = body["key"].as_str() {
        return Some(key.to_owned());
    }
    // The presigned URL is path-style: <endpoint>/<bucket>/<key>?<signature>.
    let url = body["uploadUrl"].as_str()?;
    let path = url.split('?').next()?;
    let (_, key) = path.split_once(&format!("/{}/", template::BUCKET))?;
    Some(key.to_owned())
}

/// An `ObjectCreated:Put` notification for `key` as S3 sends it: the key is
/// URL-encoded (spaces as `+`), and there is no decoded copy of it.
fn s3_event(key: &str) -> Bytes {
    let encoded: String = form_urlencoded_key(key);
    let event = serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": template::REGION,
        "eventTime": "2026-11-24T10:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:hdoc"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "photo-uploaded",
            "bucket": {
                "name": template::BUCKET,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": format!("arn:aws:s3:::{}", template::BUCKET),
            },
            "object": {"key": encoded, "size": 204_800, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"},
        },
    }]});
    Bytes::from(event.to_string())
}

/// S3's encoding of a key in a notification (as `application/x-www-form-urlencoded`).
fn form_urlencoded_key(key: &str) -> String {
    let mut out = String::new();
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// alice's journey repository, and her verification.
async fn verify_alice(stores: &Stores) -> Result<(), String> {
    let alice = UserId::parse("alice").map_err(|e| format!("{e:?}"))?;
    let repo = hdoc_shared::domain::JourneyRepo::parse("alice/100DaysOfCloud")?;
    stores
        .state
        .repo
        .update_user(&alice, |record| {
            record.user.journey_repo = Some(repo.clone());
            record.user.journey.verified = true;
            Ok::<(), hdoc_shared::store::StoreError>(())
        })
        .await
        .map_err(|e| format!("verifying alice: {e}"))?;
    Ok(())
}

/// alice's journey holds day 1, dated today (the stand-in's push is today).
async fn activity_recorded(stores: &Stores) -> Result<(), String> {
    let alice = UserId::parse("alice").map_err(|e| format!("{e:?}"))?;
    let journeyer = stores
        .state
        .repo
        .journeyer(&alice)
        .await
        .map_err(|e| format!("reading alice: {e}"))?
        .ok_or("alice has no profile")?;
    let today = hdoc_shared::domain::activity::today();
    let days: Vec<_> = journeyer.activity.journey.days.iter().collect();
    if days.len() != 1 || days[0].1 != today {
        return Err(format!(
            "the activity function answered, but alice's journey is not day 1 of today: {:?}",
            journeyer.activity
        ));
    }
    Ok(())
}

/// The review `events/reviews-*.json` name, by alice (the events' caller).
async fn seed_review(stores: &Stores) -> Result<(), String> {
    let new: NewReview = parse_json(br#"{"subject":"park:yosemite","title":"Seeded","body":"b"}"#)
        .map_err(|e| format!("seed review: {e:?}"))?;
    let mut review = new.into_review(
        UserId::parse("alice").map_err(|e| format!("{e:?}"))?,
        Timestamp::now(),
    );
    review.id = seeded_review_id()?;
    stores
        .state
        .repo
        .create_review(review, None)
        .await
        .map_err(|e| format!("seeding the review: {e}"))?;
    Ok(())
}

/// The id of the review the `reviews-*` events name.
fn seeded_review_id() -> Result<ReviewId, String> {
    let event: Value = serde_json::from_slice(&event("reviews-get.json")?)
        .map_err(|e| format!("reviews-get.json: {e}"))?;
    let id = event["pathParameters"]["id"]
        .as_str()
        .ok_or("reviews-get.json names no review")?;
    ReviewId::parse(id).map_err(|e| format!("{e:?}"))
}
