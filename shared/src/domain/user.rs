//! Users: profiles keyed by GitHub username, with scores for the leaderboard.

use super::text::{Timestamp, nullable, present, string_newtype, text_newtype};
use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// Scores are kept within the integers JSON clients can hold exactly.
pub const MAX_SCORE: u64 = (1 << 53) - 1;

/// A GitHub username: 1-39 of `[A-Za-z0-9-]`, not starting or ending with `-`.
/// Compared case-insensitively; the spelling given at creation is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = (1..=39).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be a GitHub username: 1-39 letters, digits or '-', not starting or ending with '-'".into())
        }
    }

    /// Parses an id from a URL path, as a 400 naming `field` when it is not one.
    pub fn from_path(raw: &str) -> Result<Self, ApiError> {
        Self::parse(raw).map_err(|message| ApiError::invalid("id", message))
    }

    /// The case-insensitive form that keys the user.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

string_newtype!(UserId);

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
    /// An `https://` or `http://` URL of at most 2,048 characters.
    WebUrl, 1, 2048, |raw: &str| {
        let scheme_ok = raw.starts_with("https://") || raw.starts_with("http://");
        if scheme_ok && raw.len() > "https://".len() && !raw.contains(char::is_whitespace) {
            Ok(())
        } else {
            Err("must be an http(s) URL".to_owned())
        }
    }
);

/// A score: an integer from 0 to 2^53 - 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Score(u64);

impl TryFrom<u64> for Score {
    type Error = String;
    fn try_from(raw: u64) -> Result<Self, String> {
        if raw <= MAX_SCORE {
            Ok(Self(raw))
        } else {
            Err(format!("must be an integer from 0 to {MAX_SCORE}"))
        }
    }
}

impl From<Score> for u64 {
    fn from(score: Score) -> Self {
        score.0
    }
}

impl Score {
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A user's profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: Name,
    pub twitter_profile: Option<TwitterHandle>,
    pub bio: Option<Bio>,
    pub avatar_url: Option<WebUrl>,
    pub github_score: Score,
    pub twitter_score: Score,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    /// Always the sum of the two scores; never stored on its own.
    pub fn total_score(&self) -> u64 {
        self.github_score.get() + self.twitter_score.get()
    }
}

/// The JSON shape of a user, as the front end knows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView<'a> {
    id: &'a str,
    github_profile: &'a str,
    name: &'a str,
    twitter_profile: Option<&'a str>,
    bio: Option<&'a str>,
    avatar_url: Option<&'a str>,
    github_score: u64,
    twitter_score: u64,
    total_score: u64,
    created_at: &'a str,
    updated_at: &'a str,
}

impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        UserView {
            id: self.id.as_str(),
            github_profile: self.id.as_str(),
            name: self.name.as_str(),
            twitter_profile: self.twitter_profile.as_ref().map(TwitterHandle::as_str),
            bio: self.bio.as_ref().map(Bio::as_str),
            avatar_url: self.avatar_url.as_ref().map(WebUrl::as_str),
            github_score: self.github_score.get(),
            twitter_score: self.twitter_score.get(),
            total_score: self.total_score(),
            created_at: self.created_at.as_str(),
            updated_at: self.updated_at.as_str(),
        }
        .serialize(serializer)
    }
}

/// One row of the leaderboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankedUser {
    pub rank: u64,
    pub user: User,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RankedView<'a> {
    rank: u64,
    id: &'a str,
    github_profile: &'a str,
    name: &'a str,
    avatar_url: Option<&'a str>,
    github_score: u64,
    twitter_score: u64,
    total_score: u64,
}

impl Serialize for RankedUser {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = &self.user;
        RankedView {
            rank: self.rank,
            id: user.id.as_str(),
            github_profile: user.id.as_str(),
            name: user.name.as_str(),
            avatar_url: user.avatar_url.as_ref().map(WebUrl::as_str),
            github_score: user.github_score.get(),
            twitter_score: user.twitter_score.get(),
            total_score: user.total_score(),
        }
        .serialize(serializer)
    }
}

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewUser {
    pub github_profile: UserId,
    pub name: Name,
    pub twitter_profile: Option<TwitterHandle>,
    pub bio: Option<Bio>,
    pub avatar_url: Option<WebUrl>,
    pub github_score: Option<Score>,
    pub twitter_score: Option<Score>,
}

impl NewUser {
    /// Whether the body sets scores, which only admins may do.
    pub fn sets_scores(&self) -> bool {
        self.github_score.is_some() || self.twitter_score.is_some()
    }

    pub fn into_user(self, now: Timestamp) -> User {
        User {
            id: self.github_profile,
            name: self.name,
            twitter_profile: self.twitter_profile,
            bio: self.bio,
            avatar_url: self.avatar_url,
            github_score: self.github_score.unwrap_or_default(),
            twitter_score: self.twitter_score.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

/// The body of `PUT /users/{id}`: a partial update. An absent field is kept;
/// `null` clears an optional one. `id`, `githubProfile` and `totalScore` are
/// not fields of it, so a body that sends them is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserChanges {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Name>,
    #[serde(default, deserialize_with = "nullable")]
    pub twitter_profile: Option<Option<TwitterHandle>>,
    #[serde(default, deserialize_with = "nullable")]
    pub bio: Option<Option<Bio>>,
    #[serde(default, deserialize_with = "nullable")]
    pub avatar_url: Option<Option<WebUrl>>,
    #[serde(default, deserialize_with = "present")]
    pub github_score: Option<Score>,
    #[serde(default, deserialize_with = "present")]
    pub twitter_score: Option<Score>,
}

impl UserChanges {
    /// Whether the body sets scores, which only admins may do.
    pub fn sets_scores(&self) -> bool {
        self.github_score.is_some() || self.twitter_score.is_some()
    }

    /// Applies the changes to `user`, stamping `updated_at`.
    pub fn apply(&self, user: &mut User, now: Timestamp) {
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        if let Some(twitter) = &self.twitter_profile {
            user.twitter_profile = twitter.clone();
        }
        if let Some(bio) = &self.bio {
            user.bio = bio.clone();
        }
        if let Some(url) = &self.avatar_url {
            user.avatar_url = url.clone();
        }
        if let Some(score) = self.github_score {
            user.github_score = score;
        }
        if let Some(score) = self.twitter_score {
            user.twitter_score = score;
        }
        user.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_json;

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
        assert_eq!(ok.github_score, Some(Score(7)));
    }

    #[test]
    fn derived_and_fixed_fields_are_refused() {
        for body in [
            r#"{"totalScore":1}"#,
            r#"{"id":"x"}"#,
            r#"{"githubProfile":"x"}"#,
            r#"{"name":null}"#,
            r#"{"githubScore":null}"#,
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
    }

    #[test]
    fn text_fields_are_checked() {
        for bad in [
            r#"{"name":""}"#,
            r#"{"name":"   "}"#,
            r#"{"twitterProfile":"@alice"}"#,
            r#"{"avatarUrl":"javascript:alert(1)"}"#,
        ] {
            assert!(parse_json::<UserChanges>(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
