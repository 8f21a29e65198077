//! Users: profiles keyed by GitHub username, with scores for the leaderboard.

use super::journey::{JourneyRepo, JourneyStatus};
use super::number::Integral;
use super::text::{Timestamp, checked_newtype, nullable, present, text_newtype};
use serde::{Deserialize, Serialize};

/// Scores are kept within the integers JSON clients can hold exactly.
pub const MAX_SCORE: u64 = (1 << 53) - 1;

/// A GitHub username: 1-39 of `[A-Za-z0-9-]`, not starting or ending with `-`.
/// Compared case-insensitively (`Alice == alice`), as GitHub does; the
/// spelling given at creation is kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    fn check(raw: &str) -> Result<(), String> {
        let valid = (1..=39).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if valid {
            Ok(())
        } else {
            Err("must be a GitHub username: 1-39 letters, digits or '-', not starting or ending with '-'".into())
        }
    }

    /// The case-insensitive form that keys the user.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

checked_newtype!(UserId);

impl PartialEq for UserId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for UserId {}

impl std::hash::Hash for UserId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for byte in self.0.bytes() {
            state.write_u8(byte.to_ascii_lowercase());
        }
    }
}

text_newtype!(
    /// A display name: 1-100 characters, not only white space.
    Name, 1, 100
);
text_newtype!(
    /// A short biography: at most 1,000 characters.
    Bio, 0, 1000
);
text_newtype!(
    /// A Twitter/X handle without the `@`: 1-15 of `[A-Za-z0-9_]`.
    TwitterHandle, 1, 15, |raw: &str| if raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err("must be a handle of letters, digits or '_', without '@'".to_owned())
    }
);
text_newtype!(
    /// An `https://` or `http://` URL of at most 2,048 characters: visible
    /// ASCII (a URL's own alphabet; others are percent-encoded), none of the
    /// characters RFC 3986 leaves out (`"<>\\^`{|}`).
    WebUrl, 1, 2048, |raw: &str| {
        let scheme_ok = raw.starts_with("https://") || raw.starts_with("http://");
        let chars_ok = raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b));
        if scheme_ok && raw.len() > "https://".len() && chars_ok {
            Ok(())
        } else {
            Err("must be an http(s) URL".to_owned())
        }
    }
);

text_newtype!(
    /// A caller's identity, the `sub` claim of its token: 1-128 visible
    /// ASCII characters (a Cognito `sub` is a UUID).
    CallerSub, 1, 128, |raw: &str| if raw.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("must be a token's `sub` claim: visible ASCII, no spaces".to_owned())
    }
);

/// The body of `PUT /users/{id}/owner`: who the imported profile goes to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOwner {
    pub sub: CallerSub,
}

/// A LinkedIn profile, kept as its handle (the `<handle>` of
/// `https://www.linkedin.com/in/<handle>`): 3-100 of `[A-Za-z0-9_-]`. Given
/// as the handle or as the profile's URL; shown as the URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkedinProfile(String);

impl LinkedinProfile {
    const URL: &'static str = "https://www.linkedin.com/in/";

    pub fn parse(raw: &str) -> Result<Self, String> {
        let handle = Self::handle_of(raw.trim());
        let valid = (3..=100).contains(&handle.len())
            && handle
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(handle.to_owned()))
        } else {
            Err("must be a LinkedIn handle (3-100 letters, digits, '-' or '_') or a https://www.linkedin.com/in/<handle> URL".into())
        }
    }

    /// The handle in a profile URL (`http(s)://`, any `*.linkedin.com` host,
    /// `/in/<handle>`, an optional trailing `/`), or `raw` itself.
    fn handle_of(raw: &str) -> &str {
        let Some(rest) = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
        else {
            return raw;
        };
        let Some((host, path)) = rest.split_once('/') else {
            return raw;
        };
        let host = host.to_ascii_lowercase();
        let linkedin = host == "linkedin.com" || host.ends_with(".linkedin.com");
        match path.strip_prefix("in/") {
            Some(handle) if linkedin => handle.strip_suffix('/').unwrap_or(handle),
            _ => raw,
        }
    }

    /// The handle alone.
    pub fn handle(&self) -> &str {
        &self.0
    }

    /// The profile's URL, as the front end links to it.
    pub fn url(&self) -> String {
        format!("{}{}", Self::URL, self.0)
    }
}

impl TryFrom<String> for LinkedinProfile {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<LinkedinProfile> for String {
    fn from(value: LinkedinProfile) -> Self {
        value.url()
    }
}

/// A count of points or days: an integer from 0 to 2^53 - 1 (exact in JSON).
/// Scores and streaks are counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Integral", into = "u64")]
pub struct Count(u64);

impl TryFrom<u64> for Count {
    type Error = String;
    fn try_from(raw: u64) -> Result<Self, String> {
        if raw <= MAX_SCORE {
            Ok(Self(raw))
        } else {
            Err(format!("must be an integer from 0 to {MAX_SCORE}"))
        }
    }
}

impl TryFrom<Integral> for Count {
    type Error = String;
    fn try_from(raw: Integral) -> Result<Self, String> {
        Self::try_from(raw.0)
    }
}

impl From<Count> for u64 {
    fn from(count: Count) -> Self {
        count.0
    }
}

impl Count {
    pub fn get(self) -> u64 {
        self.0
    }
}

/// How far into the 100 days a journeyer is: an integer from 0 to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Integral", into = "u64")]
pub struct DaysCompleted(u8);

impl DaysCompleted {
    pub const MAX: u8 = 100;

    pub fn get(self) -> u64 {
        u64::from(self.0)
    }
}

impl TryFrom<u64> for DaysCompleted {
    type Error = String;
    fn try_from(raw: u64) -> Result<Self, String> {
        u8::try_from(raw)
            .ok()
            .filter(|days| *days <= Self::MAX)
            .map(Self)
            .ok_or_else(|| format!("must be an integer from 0 to {}", Self::MAX))
    }
}

impl TryFrom<Integral> for DaysCompleted {
    type Error = String;
    fn try_from(raw: Integral) -> Result<Self, String> {
        Self::try_from(raw.0)
    }
}

impl From<DaysCompleted> for u64 {
    fn from(days: DaysCompleted) -> Self {
        days.get()
    }
}

/// What only admins (and the activity job) set on a profile: the scores,
/// the streaks and the challenge's progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub github_score: Count,
    pub github_streak: Count,
    pub twitter_score: Count,
    pub twitter_streak: Count,
    pub days_completed: DaysCompleted,
}

/// The order of `GET /users`: by when profiles were made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum UserOrder {
    /// Oldest profile first (the default).
    #[default]
    Oldest,
    /// Newest profile first: the front end's "new journeyers".
    Newest,
}

impl TryFrom<String> for UserOrder {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "oldest" => Ok(Self::Oldest),
            "newest" => Ok(Self::Newest),
            _ => Err("must be oldest or newest".into()),
        }
    }
}

/// A user's profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: Name,
    pub twitter_profile: Option<TwitterHandle>,
    pub linkedin_profile: Option<LinkedinProfile>,
    pub bio: Option<Bio>,
    pub avatar_image: Option<WebUrl>,
    pub progress: Progress,
    pub date_joined: Timestamp,
    pub updated_at: Timestamp,
    /// The journeyer's copy of the Journey Template; its owner is `id`.
    pub journey_repo: Option<JourneyRepo>,
    pub blog_url: Option<WebUrl>,
    /// What only the journey (verification, the job) sets.
    pub journey: JourneyStatus,
}

impl User {
    /// The avatar shown: the one set, or else the GitHub account's own
    /// (`https://github.com/<githubProfile>.png`), so it is never null.
    pub fn avatar_image(&self) -> std::borrow::Cow<'_, str> {
        match &self.avatar_image {
            Some(url) => url.as_str().into(),
            None => format!("https://github.com/{}.png", self.id.as_str()).into(),
        }
    }

    /// Always the sum of the two scores; never stored on its own.
    pub fn total_score(&self) -> u64 {
        self.progress.github_score.get() + self.progress.twitter_score.get()
    }
}

/// The JSON shape of a user, as the front end reads it. The leaderboard's
/// rows are the same fields with their `rank` first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<u64>,
    id: &'a str,
    github_profile: &'a str,
    name: &'a str,
    twitter_profile: Option<&'a str>,
    linkedin_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bio: Option<Option<&'a str>>,
    avatar_image: std::borrow::Cow<'a, str>,
    github_score: u64,
    github_streak: u64,
    twitter_score: u64,
    twitter_streak: u64,
    days_completed: u64,
    total_score: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_joined: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    journey_repo: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blog_url: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consistency: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_entry_at: Option<Option<Timestamp>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    week_days: Option<u64>,
}

impl<'a> UserView<'a> {
    /// The full profile, or (with a rank) a leaderboard row: everything the
    /// front end's leaderboard shows, without `bio` and the times.
    fn of(user: &'a User, rank: Option<u64>) -> Self {
        let profile = rank.is_none();
        let progress = &user.progress;
        Self {
            rank,
            id: user.id.as_str(),
            github_profile: user.id.as_str(),
            name: user.name.as_str(),
            twitter_profile: user.twitter_profile.as_ref().map(TwitterHandle::as_str),
            linkedin_profile: user.linkedin_profile.as_ref().map(LinkedinProfile::url),
            bio: profile.then(|| user.bio.as_ref().map(Bio::as_str)),
            avatar_image: user.avatar_image(),
            github_score: progress.github_score.get(),
            github_streak: progress.github_streak.get(),
            twitter_score: progress.twitter_score.get(),
            twitter_streak: progress.twitter_streak.get(),
            days_completed: progress.days_completed.get(),
            total_score: user.total_score(),
            date_joined: profile.then(|| user.date_joined.as_str()),
            updated_at: profile.then(|| user.updated_at.as_str()),
            journey_repo: profile.then(|| user.journey_repo.as_ref().map(JourneyRepo::url)),
            blog_url: profile.then(|| user.blog_url.as_ref().map(WebUrl::as_str)),
            verified: profile.then_some(user.journey.verified),
            consistency: profile.then(|| user.journey.consistency.value()),
            last_entry_at: profile.then(|| user.journey.last_entry_at()),
            week_days: None,
        }
    }
}

impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        UserView::of(self, None).serialize(serializer)
    }
}

/// One row of the leaderboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankedUser {
    pub rank: u64,
    pub user: User,
}

impl Serialize for RankedUser {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        UserView::of(&self.user, Some(self.rank)).serialize(serializer)
    }
}

/// One row of the week's leaderboard: an all-time row plus `weekDays`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeekRankedUser {
    pub rank: u64,
    pub user: User,
    /// Days documented in the week.
    pub week_days: u64,
}

impl Serialize for WeekRankedUser {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut view = UserView::of(&self.user, Some(self.rank));
        view.week_days = Some(self.week_days);
        view.serialize(serializer)
    }
}

/// Why a change of scores is refused: `totalScore` would be larger than
/// [`MAX_SCORE`], past what JSON clients hold exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotalTooLarge {
    /// The score the body sets (`twitterScore` if it sets both).
    pub field: &'static str,
}

impl std::fmt::Display for TotalTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "githubScore + twitterScore (totalScore) must be at most {MAX_SCORE}"
        )
    }
}

/// The admin-only fields of a body (`None`: not sent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressChanges {
    pub github_score: Option<Count>,
    pub github_streak: Option<Count>,
    pub twitter_score: Option<Count>,
    pub twitter_streak: Option<Count>,
    pub days_completed: Option<DaysCompleted>,
}

/// The admin-only fields of a request body, as they were sent.
macro_rules! progress_changes {
    ($body:expr) => {
        ProgressChanges {
            github_score: $body.github_score,
            github_streak: $body.github_streak,
            twitter_score: $body.twitter_score,
            twitter_streak: $body.twitter_streak,
            days_completed: $body.days_completed,
        }
    };
}

impl ProgressChanges {
    /// The admin-only fields sent, by their JSON names (empty: none, so any
    /// caller may send the body).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("githubScore", self.github_score.is_some()),
            ("githubStreak", self.github_streak.is_some()),
            ("twitterScore", self.twitter_score.is_some()),
            ("twitterStreak", self.twitter_streak.is_some()),
            ("daysCompleted", self.days_completed.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, sent)| sent.then_some(field))
        .collect()
    }

    /// Refuses changes that would make `totalScore` (the sum of the two
    /// scores, as `current` holds them once changed) larger than
    /// [`MAX_SCORE`]: each score is exact in JSON, and so must their sum be.
    pub fn check_total(&self, current: &Progress) -> Result<(), TotalTooLarge> {
        let github = self.github_score.unwrap_or(current.github_score).get();
        let twitter = self.twitter_score.unwrap_or(current.twitter_score).get();
        if github + twitter <= MAX_SCORE {
            return Ok(());
        }
        let field = if self.twitter_score.is_some() || self.github_score.is_none() {
            "twitterScore"
        } else {
            "githubScore"
        };
        Err(TotalTooLarge { field })
    }

    pub fn apply(&self, progress: &mut Progress) {
        progress.github_score = self.github_score.unwrap_or(progress.github_score);
        progress.github_streak = self.github_streak.unwrap_or(progress.github_streak);
        progress.twitter_score = self.twitter_score.unwrap_or(progress.twitter_score);
        progress.twitter_streak = self.twitter_streak.unwrap_or(progress.twitter_streak);
        progress.days_completed = self.days_completed.unwrap_or(progress.days_completed);
    }
}

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewUser {
    pub github_profile: UserId,
    pub name: Name,
    pub twitter_profile: Option<TwitterHandle>,
    pub linkedin_profile: Option<LinkedinProfile>,
    pub bio: Option<Bio>,
    pub avatar_image: Option<WebUrl>,
    pub journey_repo: Option<JourneyRepo>,
    pub blog_url: Option<WebUrl>,
    #[serde(default, deserialize_with = "present")]
    pub github_score: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub github_streak: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub twitter_score: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub twitter_streak: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub days_completed: Option<DaysCompleted>,
}

/// Why a `journeyRepo` is refused: its owner is not the profile's
/// `githubProfile` (only one's own copy of the template counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotOwnRepo;

impl std::fmt::Display for NotOwnRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("must be a repository owned by the profile's githubProfile")
    }
}

/// Checks that `repo` (if any) is owned by `id`.
pub fn check_repo_owner(repo: Option<&JourneyRepo>, id: &UserId) -> Result<(), NotOwnRepo> {
    match repo {
        Some(repo) if repo.owner() != id => Err(NotOwnRepo),
        _ => Ok(()),
    }
}

impl NewUser {
    /// The admin-only fields this body sets.
    pub fn progress(&self) -> ProgressChanges {
        progress_changes!(self)
    }

    pub fn into_user(self, now: Timestamp) -> User {
        let mut progress = Progress::default();
        self.progress().apply(&mut progress);
        User {
            id: self.github_profile,
            name: self.name,
            twitter_profile: self.twitter_profile,
            linkedin_profile: self.linkedin_profile,
            bio: self.bio,
            avatar_image: self.avatar_image,
            progress,
            date_joined: now.clone(),
            updated_at: now,
            journey_repo: self.journey_repo,
            blog_url: self.blog_url,
            journey: JourneyStatus::default(),
        }
    }
}

/// The body of `PUT /users/{id}`: a partial update. An absent field is kept;
/// `null` clears an optional one. `id`, `githubProfile`, `totalScore` and
/// `dateJoined` are not fields of it, so a body that sends them is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserChanges {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Name>,
    #[serde(default, deserialize_with = "nullable")]
    pub twitter_profile: Option<Option<TwitterHandle>>,
    #[serde(default, deserialize_with = "nullable")]
    pub linkedin_profile: Option<Option<LinkedinProfile>>,
    #[serde(default, deserialize_with = "nullable")]
    pub bio: Option<Option<Bio>>,
    #[serde(default, deserialize_with = "nullable")]
    pub avatar_image: Option<Option<WebUrl>>,
    #[serde(default, deserialize_with = "nullable")]
    pub journey_repo: Option<Option<JourneyRepo>>,
    #[serde(default, deserialize_with = "nullable")]
    pub blog_url: Option<Option<WebUrl>>,
    #[serde(default, deserialize_with = "present")]
    pub github_score: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub github_streak: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub twitter_score: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub twitter_streak: Option<Count>,
    #[serde(default, deserialize_with = "present")]
    pub days_completed: Option<DaysCompleted>,
}

impl UserChanges {
    /// The admin-only fields this body sets.
    pub fn progress(&self) -> ProgressChanges {
        progress_changes!(self)
    }

    /// Applies the changes to `user`, stamping `updated_at`.
    pub fn apply(&self, user: &mut User, now: Timestamp) {
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        if let Some(twitter) = &self.twitter_profile {
            user.twitter_profile = twitter.clone();
        }
        if let Some(linkedin) = &self.linkedin_profile {
            user.linkedin_profile = linkedin.clone();
        }
        if let Some(bio) = &self.bio {
            user.bio = bio.clone();
        }
        if let Some(url) = &self.avatar_image {
            user.avatar_image = url.clone();
        }
        if let Some(repo) = &self.journey_repo {
            user.journey_repo = repo.clone();
        }
        if let Some(url) = &self.blog_url {
            user.blog_url = url.clone();
        }
        self.progress().apply(&mut user.progress);
        user.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::parse_json;

    #[test]
    fn the_avatar_is_the_github_one_unless_one_is_set() {
        let body = br#"{"githubProfile": "Ada-L", "name": "Ada"}"#;
        let mut user = parse_json::<NewUser>(body)
            .expect("valid")
            .into_user(Timestamp::now());
        let shown = serde_json::to_value(&user).expect("json");
        assert_eq!(shown["avatarImage"], "https://github.com/Ada-L.png");
        user.avatar_image = Some(
            "https://img.example/a.png"
                .to_owned()
                .try_into()
                .expect("url"),
        );
        let shown = serde_json::to_value(&user).expect("json");
        assert_eq!(shown["avatarImage"], "https://img.example/a.png");
        let row = serde_json::to_value(RankedUser { rank: 1, user }).expect("json");
        assert_eq!(row["avatarImage"], "https://img.example/a.png");
    }

    #[test]
    fn user_ids_follow_github_rules() {
        for ok in ["a", "Alice", "bob-42", &"x".repeat(39)] {
            assert!(UserId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-bob", "bob-", "bo b", "bob_1", "böb", &"x".repeat(40)] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            UserId::parse("AlIce").map(|id| id.key()),
            Ok("alice".into())
        );
        let (upper, lower) = (UserId::parse("ALICE"), UserId::parse("alice"));
        assert_eq!(upper, lower, "ids compare as GitHub compares them");
        assert_ne!(UserId::parse("alice"), UserId::parse("alice2"));
        let set: std::collections::HashSet<UserId> = [upper, lower].into_iter().flatten().collect();
        assert_eq!(set.len(), 1, "and hash alike");
    }

    #[test]
    fn scores_must_be_whole_and_in_range() {
        for bad in [
            r#"{"githubScore":3.5}"#,
            r#"{"githubScore":"5"}"#,
            r#"{"githubScore":-1}"#,
        ] {
            assert!(parse_json::<UserChanges>(bad.as_bytes()).is_err(), "{bad}");
        }
        let too_big = format!(r#"{{"githubScore":{}}}"#, MAX_SCORE + 1);
        assert!(parse_json::<UserChanges>(too_big.as_bytes()).is_err());
        let ok = parse_json::<UserChanges>(br#"{"githubScore":7}"#).expect("valid");
        assert_eq!(ok.github_score, Some(Count(7)));
        for bad in [r#"{"daysCompleted":101}"#, r#"{"githubStreak":-1}"#] {
            assert!(parse_json::<UserChanges>(bad.as_bytes()).is_err(), "{bad}");
        }
        let ok = parse_json::<UserChanges>(br#"{"daysCompleted":100,"twitterStreak":3}"#)
            .expect("valid");
        assert_eq!(ok.progress().fields(), ["twitterStreak", "daysCompleted"]);
    }

    #[test]
    fn the_total_stays_exact_in_json() {
        let max = format!(r#"{{"githubScore":{MAX_SCORE},"twitterScore":1}}"#);
        let both = parse_json::<UserChanges>(max.as_bytes()).expect("each score is valid");
        let err = both.progress().check_total(&Progress::default());
        assert_eq!(
            err,
            Err(TotalTooLarge {
                field: "twitterScore"
            })
        );
        // Against what is stored: a score that would tip the stored total over.
        let stored = Progress {
            github_score: Count(MAX_SCORE - 10),
            ..Progress::default()
        };
        let eleven = parse_json::<UserChanges>(br#"{"twitterScore":11}"#).expect("valid");
        assert!(eleven.progress().check_total(&stored).is_err());
        let ten = parse_json::<UserChanges>(br#"{"twitterScore":10}"#).expect("valid");
        assert!(ten.progress().check_total(&stored).is_ok());
        let lower =
            parse_json::<UserChanges>(br#"{"githubScore":0,"twitterScore":11}"#).expect("valid");
        assert!(lower.progress().check_total(&stored).is_ok());
        let name_only = parse_json::<UserChanges>(br#"{"name":"n"}"#).expect("valid");
        assert!(name_only.progress().check_total(&stored).is_ok());
    }

    #[test]
    fn derived_and_fixed_fields_are_refused() {
        for body in [
            r#"{"totalScore":1}"#,
            r#"{"id":"x"}"#,
            r#"{"githubProfile":"x"}"#,
            r#"{"name":null}"#,
            r#"{"githubScore":null}"#,
            r#"{"dateJoined":"2020-01-01T00:00:00Z"}"#,
            r#"{"avatarUrl":"https://example.com/a.png"}"#,
        ] {
            assert!(
                parse_json::<UserChanges>(body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let changes = parse_json::<UserChanges>(br#"{"bio":null}"#).expect("valid");
        assert_eq!(changes.bio, Some(None));
        assert_eq!(changes.twitter_profile, None);
    }

    #[test]
    fn total_is_the_sum() {
        let new = parse_json::<NewUser>(
            br#"{"githubProfile":"Alice","name":"Alice","githubScore":3,"twitterScore":4}"#,
        )
        .expect("valid");
        let user = new.into_user(Timestamp::now());
        assert_eq!(user.total_score(), 7);
        let json = serde_json::to_value(&user).expect("json");
        assert_eq!(json["id"], "Alice");
        assert_eq!(json["githubProfile"], "Alice");
        assert_eq!(json["totalScore"], 7);
        assert!(json["bio"].is_null());
        let row = serde_json::to_value(RankedUser { rank: 1, user }).expect("json");
        assert_eq!(row["rank"], 1);
        assert_eq!(row["totalScore"], 7);
        assert!(row.get("bio").is_none() && row.get("dateJoined").is_none());
    }

    #[test]
    fn linkedin_profiles_are_handles_shown_as_urls() {
        for raw in [
            "jane-doe_1",
            "https://www.linkedin.com/in/jane-doe_1",
            "https://www.linkedin.com/in/jane-doe_1/",
            "http://linkedin.com/in/jane-doe_1",
            "https://de.linkedin.com/in/jane-doe_1",
        ] {
            let profile = LinkedinProfile::parse(raw).expect(raw);
            assert_eq!(profile.handle(), "jane-doe_1", "{raw}");
            assert_eq!(profile.url(), "https://www.linkedin.com/in/jane-doe_1");
        }
        for bad in [
            "ab",
            "jane doe",
            "https://example.com/in/jane",
            "https://www.linkedin.com/company/acme",
            "https://www.linkedin.com/in/",
            &"x".repeat(101),
        ] {
            assert!(LinkedinProfile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_fields_are_checked() {
        for bad in [
            r#"{"name":""}"#,
            r#"{"name":"   "}"#,
            r#"{"twitterProfile":"@alice"}"#,
            r#"{"avatarImage":"javascript:alert(1)"}"#,
            r#"{"avatarImage":"https://example.com/a b.png"}"#,
            r#"{"avatarImage":"https://example.com/\"quoted\""}"#,
            r#"{"name":"bell\u0007"}"#,
        ] {
            assert!(parse_json::<UserChanges>(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::strategies::parse_json;
    use crate::strategies::{body_of, text};
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;

    /// `value` written as JSON and read back.
    fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
        serde_json::from_value(serde_json::to_value(value).expect("serializes"))
            .expect("reads back")
    }

    const USER_FIELDS: &[&str] = &[
        "githubProfile",
        "name",
        "twitterProfile",
        "linkedinProfile",
        "bio",
        "avatarImage",
        "githubScore",
        "githubStreak",
        "twitterScore",
        "twitterStreak",
        "daysCompleted",
    ];

    proptest! {
        #[test]
        fn user_ids_parse_any_text_and_round_trip(raw in text()) {
            if let Ok(id) = UserId::parse(&raw) {
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert_eq!(id.key(), raw.to_ascii_lowercase());
                prop_assert_eq!(round_trip(&id), id);
            }
        }

        #[test]
        fn github_usernames_are_user_ids(raw in "[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?") {
            prop_assert!(UserId::parse(&raw).is_ok());
        }

        #[test]
        fn linkedin_profiles_round_trip_through_their_url(
            raw in prop_oneof![
                text(),
                "\\s?(https?://([A-Za-z]{1,5}\\.)?[Ll]inked[Ii]n\\.com/in/)?[A-Za-z0-9_-]{1,102}/?\\s?",
            ],
        ) {
            if let Ok(profile) = LinkedinProfile::parse(&raw) {
                prop_assert_eq!(LinkedinProfile::parse(&profile.url()), Ok(profile.clone()));
                prop_assert_eq!(LinkedinProfile::parse(profile.handle()), Ok(profile.clone()));
                prop_assert_eq!(serde_json::to_value(&profile).ok(), Some(serde_json::json!(profile.url())));
                prop_assert_eq!(round_trip(&profile), profile);
            }
        }

        #[test]
        fn text_fields_parse_any_text_and_round_trip(
            raw in prop_oneof![text(), "https?://[ -~]{0,30}"],
        ) {
            if let Ok(name) = Name::parse(&raw) {
                prop_assert_eq!(name.as_str(), raw.as_str());
                prop_assert_eq!(round_trip(&name), name);
            }
            if let Ok(bio) = Bio::parse(&raw) {
                prop_assert_eq!(round_trip(&bio), bio);
            }
            if let Ok(handle) = TwitterHandle::parse(&raw) {
                prop_assert_eq!(round_trip(&handle), handle);
            }
            if let Ok(url) = WebUrl::parse(&raw) {
                prop_assert!(url.as_str().starts_with("http"));
                prop_assert_eq!(round_trip(&url), url);
            }
        }

        #[test]
        fn counts_are_the_integers_json_holds_exactly(n in prop_oneof![any::<u64>(), 0..200u64, (MAX_SCORE - 2)..(MAX_SCORE + 2)]) {
            match Count::try_from(n) {
                Ok(count) => {
                    prop_assert!(n <= MAX_SCORE);
                    prop_assert_eq!(round_trip(&count), count);
                }
                Err(_) => prop_assert!(n > MAX_SCORE),
            }
            match DaysCompleted::try_from(n) {
                Ok(days) => prop_assert_eq!(round_trip(&days).get(), n),
                Err(_) => prop_assert!(n > 100),
            }
        }

        #[test]
        fn user_bodies_are_parsed_or_refused(body in body_of(USER_FIELDS)) {
            let bytes = body.to_string();
            if let Ok(new) = parse_json::<NewUser>(bytes.as_bytes()) {
                let total = new.progress().check_total(&Progress::default());
                let user = new.into_user(Timestamp::now());
                prop_assert_eq!(total.is_ok(), user.total_score() <= MAX_SCORE);
                let json = serde_json::to_value(&user).expect("serializes");
                prop_assert_eq!(&json["id"], &body["githubProfile"]);
            }
            let _ = parse_json::<UserChanges>(bytes.as_bytes());
        }
    }
}
