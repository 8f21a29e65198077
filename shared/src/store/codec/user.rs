//! A profile as stored, and the items around it: the owner claim, the
//! tombstone of a deleted profile, and the leaderboard's key a profile
//! carries (so a score change moves the user in the same write).

use crate::domain::activity::{format_day, parse_day};
use crate::domain::journey::{Consistency, JourneyStatus, Verification};
use crate::domain::{Progress, Timestamp, User, UserId};
use crate::store::Item;
use crate::store::error::{Result, StoreError};
use crate::store::item::{
    counted, n, number, optional_number, optional_parsed, optional_string, parsed, s, string,
    timestamp,
};
use crate::store::keys::{
    AUTHORS, DELETED_AT, LEADERBOARD, PROFILE, PURGES, USER_PREFIX, USERS, claim_pk, user_pk,
};
use crate::store::schema::{GSI1, GSI2, PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;

/// Sort key of the leaderboard: ascending order is highest total first
/// (the total is stored inverted, zero-padded), then id ascending.
pub(in crate::store) fn leaderboard_key(user: &User) -> String {
    format!("{:020}#{}", u64::MAX - user.total_score(), user.id.key())
}

/// The `sub` of a profile's owner; absent on an imported profile until an
/// admin hands it over.
pub(in crate::store) const OWNER: &str = "owner";
/// Marks a profile the import made for an author (value `author`).
const MADE_FOR: &str = "madeFor";
/// `owner/name` of the journey repository.
const JOURNEY_REPO: &str = "journeyRepo";
/// `true` once the owner proved the GitHub account (absent: not verified).
const VERIFIED: &str = "verified";
/// Consistency in hundredths (absent: 0).
const CONSISTENCY: &str = "consistency";
/// The latest documented day's date, `YYYY-MM-DD` (absent: none).
const LAST_ENTRY: &str = "lastEntryAt";
/// The pending verification code and when it expires.
const CODE: &str = "verificationCode";
const CODE_EXPIRES: &str = "verificationExpiresAt";

/// A deleted user whose things are still being removed: the tombstone's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purge {
    pub id: UserId,
    /// The `sub` of the caller who owned the profile (its ratings are keyed
    /// by it); `None` for an imported profile no caller was given.
    pub owner: Option<String>,
    pub deleted_at: Timestamp,
}

pub(in crate::store) fn tombstone(purge: &Purge) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(user_pk(&purge.id))),
        (SK.to_owned(), s(PROFILE)),
        (GSI1.partition_key.to_owned(), s(PURGES)),
        (
            GSI1.sort_key.to_owned(),
            s(format!("{}#{}", purge.deleted_at.as_str(), purge.id.key())),
        ),
        ("id".to_owned(), s(purge.id.as_str())),
        (DELETED_AT.to_owned(), s(purge.deleted_at.as_str())),
        ("rounds".to_owned(), n(0)),
    ]);
    if let Some(owner) = &purge.owner {
        item.insert(OWNER.to_owned(), s(owner));
    }
    item
}

pub(in crate::store) fn purge_from_item(item: &Item) -> Result<Purge> {
    Ok(Purge {
        id: parsed(item, "id")?,
        owner: optional_string(item, OWNER),
        deleted_at: timestamp(item, DELETED_AT)?,
    })
}

/// Whether `item` is a profile (not a claim, not a tombstone).
pub(in crate::store) fn is_live_profile(item: &Item) -> bool {
    string(item, SK).is_ok_and(|sk| sk == PROFILE)
        && string(item, PK).is_ok_and(|pk| pk.starts_with(USER_PREFIX))
        && !item.contains_key(DELETED_AT)
}

/// A profile as stored: the user, who owns it, and its version for
/// optimistic concurrency.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: User,
    /// The `sub` of the caller who owns the profile: who created it, or to
    /// whom an admin handed an imported one. `None` until then: only admins
    /// change an imported profile.
    pub owner: Option<String>,
    /// Made by the import for an imported article's (or review's) author
    /// who had no profile: not a journeyer who joined, so kept out of the
    /// users lists until an admin hands it over (docs/import.md).
    pub made_for_author: bool,
    /// The pending verification code (`POST /users/{id}/verification`).
    pub verification: Option<Verification>,
    pub(in crate::store) version: u64,
}

/// Attribute names a profile had before contract v2, and their v2 names.
/// Profiles are read under either; every write stores the v2 names, and the
/// reconcile job rewrites a profile it meets still holding v1 names.
const V1_NAMES: [(&str, &str); 2] = [("avatarUrl", "avatarImage"), ("createdAt", "dateJoined")];

/// Whether a stored profile still has attribute names from before v2.
pub(in crate::store) fn is_v1_profile(item: &Item) -> bool {
    V1_NAMES.iter().any(|(v1, _)| item.contains_key(*v1))
}

pub(in crate::store) fn to_item(record: &UserRecord) -> Item {
    let user = &record.user;
    let progress = &user.progress;
    let mut item = Item::from([
        (PK.to_owned(), s(user_pk(&user.id))),
        (SK.to_owned(), s(PROFILE)),
        (
            GSI1.partition_key.to_owned(),
            s(if record.made_for_author {
                AUTHORS
            } else {
                USERS
            }),
        ),
        (
            GSI1.sort_key.to_owned(),
            s(format!("{}#{}", user.date_joined.as_str(), user.id.key())),
        ),
        (GSI2.partition_key.to_owned(), s(LEADERBOARD)),
        (GSI2.sort_key.to_owned(), s(leaderboard_key(user))),
        ("id".to_owned(), s(user.id.as_str())),
        ("name".to_owned(), s(user.name.as_str())),
        ("githubScore".to_owned(), n(progress.github_score.get())),
        ("githubStreak".to_owned(), n(progress.github_streak.get())),
        ("twitterScore".to_owned(), n(progress.twitter_score.get())),
        ("twitterStreak".to_owned(), n(progress.twitter_streak.get())),
        ("daysCompleted".to_owned(), n(progress.days_completed.get())),
        ("totalScore".to_owned(), n(user.total_score())),
        ("dateJoined".to_owned(), s(user.date_joined.as_str())),
        ("updatedAt".to_owned(), s(user.updated_at.as_str())),
        ("version".to_owned(), n(record.version)),
    ]);
    if record.made_for_author {
        item.insert(MADE_FOR.to_owned(), s("author"));
    }
    if user.journey.verified {
        item.insert(VERIFIED.to_owned(), AttributeValue::Bool(true));
    }
    if user.journey.consistency.hundredths() > 0 {
        item.insert(
            CONSISTENCY.to_owned(),
            n(u64::from(user.journey.consistency.hundredths())),
        );
    }
    if let Some(date) = user.journey.last_entry {
        item.insert(LAST_ENTRY.to_owned(), s(format_day(date)));
    }
    if let Some(verification) = &record.verification {
        item.insert(CODE.to_owned(), s(&verification.code));
        item.insert(CODE_EXPIRES.to_owned(), s(verification.expires_at.as_str()));
    }
    let optional = [
        (OWNER, record.owner.as_deref()),
        (
            "twitterProfile",
            user.twitter_profile.as_ref().map(|v| v.as_str()),
        ),
        (
            "linkedinProfile",
            user.linkedin_profile.as_ref().map(|v| v.handle()),
        ),
        ("bio", user.bio.as_ref().map(|v| v.as_str())),
        (
            "avatarImage",
            user.avatar_image.as_ref().map(|v| v.as_str()),
        ),
        ("blogUrl", user.blog_url.as_ref().map(|v| v.as_str())),
    ];
    if let Some(repo) = &user.journey_repo {
        item.insert(JOURNEY_REPO.to_owned(), s(repo.full_name()));
    }
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

pub(in crate::store) fn from_item(item: &Item) -> Result<UserRecord> {
    // A v1 profile: its values under their v2 names, and 0 for what v1 lacked.
    let mut v2;
    let item = if is_v1_profile(item) {
        v2 = item.clone();
        for (v1, name) in V1_NAMES {
            if let Some(value) = v2.remove(v1) {
                v2.entry(name.to_owned()).or_insert(value);
            }
        }
        &v2
    } else {
        item
    };
    Ok(UserRecord {
        user: User {
            id: parsed(item, "id")?,
            name: parsed(item, "name")?,
            twitter_profile: optional_parsed(item, "twitterProfile")?,
            linkedin_profile: optional_parsed(item, "linkedinProfile")?,
            bio: optional_parsed(item, "bio")?,
            avatar_image: optional_parsed(item, "avatarImage")?,
            progress: Progress {
                github_score: counted(item, "githubScore")?,
                github_streak: counted(item, "githubStreak")?,
                twitter_score: counted(item, "twitterScore")?,
                twitter_streak: counted(item, "twitterStreak")?,
                days_completed: counted(item, "daysCompleted")?,
            },
            date_joined: timestamp(item, "dateJoined")?,
            updated_at: timestamp(item, "updatedAt")?,
            journey_repo: optional_parsed(item, JOURNEY_REPO)?,
            blog_url: optional_parsed(item, "blogUrl")?,
            journey: JourneyStatus {
                verified: matches!(item.get(VERIFIED), Some(AttributeValue::Bool(true))),
                consistency: match optional_number(item, CONSISTENCY)? {
                    None => Consistency::default(),
                    Some(h) => Consistency::from_hundredths(h)
                        .ok_or_else(|| StoreError::corrupt("a malformed `consistency`"))?,
                },
                last_entry: optional_string(item, LAST_ENTRY)
                    .map(|text| {
                        parse_day(&text)
                            .ok_or_else(|| StoreError::corrupt("a malformed `lastEntryAt`"))
                    })
                    .transpose()?,
            },
        },
        owner: optional_string(item, OWNER),
        made_for_author: item.contains_key(MADE_FOR),
        verification: match optional_string(item, CODE) {
            None => None,
            Some(code) => Some(Verification {
                code,
                expires_at: timestamp(item, CODE_EXPIRES)?,
            }),
        },
        version: number(item, "version")?,
    })
}

pub(in crate::store) fn claim(sub: &str, id: &UserId) -> Item {
    Item::from([
        (PK.to_owned(), s(claim_pk(sub))),
        (SK.to_owned(), s(PROFILE)),
        ("userId".to_owned(), s(id.as_str())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::parse_json;

    fn user(id: &str, github: u64, twitter: u64) -> User {
        let body = format!(
            r#"{{"githubProfile":"{id}","name":"N","githubScore":{github},"twitterScore":{twitter}}}"#
        );
        parse_json::<crate::domain::NewUser>(body.as_bytes())
            .expect("valid")
            .into_user(Timestamp::now())
    }

    #[test]
    fn items_round_trip() {
        let mut record = UserRecord {
            user: user("Alice", 1, 2),
            owner: Some("sub-1".into()),
            made_for_author: false,
            verification: None,
            version: 3,
        };
        record.user.bio = Some("hello".to_owned().try_into().expect("bio"));
        record.user.linkedin_profile = Some("alice-a".to_owned().try_into().expect("linkedin"));
        record.user.progress.days_completed = 42.try_into().expect("days");
        record.user.journey_repo = Some("alice/journey".to_owned().try_into().expect("repo"));
        record.user.blog_url = Some("https://blog.example".to_owned().try_into().expect("url"));
        record.user.journey = JourneyStatus {
            verified: true,
            consistency: Consistency::from_hundredths(87).expect("0.87"),
            last_entry: Some(time::macros::date!(2026 - 03 - 01)),
        };
        record.verification = Some(Verification {
            code: "c0de".into(),
            expires_at: Timestamp::now(),
        });
        let back = from_item(&to_item(&record)).expect("round trip");
        assert_eq!(back.verification, record.verification);
        assert_eq!(back.user, record.user);
        assert_eq!(back.owner.as_deref(), Some("sub-1"));
        assert_eq!(back.version, 3);
        assert!(!back.made_for_author);
    }

    #[test]
    fn a_profile_made_for_an_author_is_kept_out_of_the_users_list() {
        let mut record = UserRecord {
            user: user("ekeeler0", 0, 0),
            owner: None,
            made_for_author: true,
            verification: None,
            version: 1,
        };
        let item = to_item(&record);
        assert_eq!(item.get(GSI1.partition_key), Some(&s(AUTHORS)));
        assert_eq!(item.get(GSI2.partition_key), Some(&s(LEADERBOARD)));
        assert!(from_item(&item).expect("reads").made_for_author);
        record.made_for_author = false;
        let item = to_item(&record);
        assert_eq!(item.get(GSI1.partition_key), Some(&s(USERS)));
        assert!(!item.contains_key(MADE_FOR));
    }

    #[test]
    fn profiles_written_under_v1_are_read() {
        let record = UserRecord {
            user: user("Alice", 1, 2),
            owner: Some("sub-1".into()),
            made_for_author: false,
            verification: None,
            version: 3,
        };
        let mut v1 = to_item(&record);
        for name in [
            "githubStreak",
            "twitterStreak",
            "daysCompleted",
            "linkedinProfile",
        ] {
            v1.remove(name);
        }
        let joined = v1.remove("dateJoined").expect("dateJoined");
        v1.insert("createdAt".into(), joined);
        v1.insert("avatarUrl".into(), s("https://example.com/a.png"));
        assert!(is_v1_profile(&v1));
        let back = from_item(&v1).expect("a v1 profile reads");
        assert_eq!(back.user.date_joined, record.user.date_joined);
        assert_eq!(
            back.user.avatar_image.as_ref().map(|url| url.as_str()),
            Some("https://example.com/a.png")
        );
        assert_eq!(back.user.progress.days_completed.get(), 0);
        assert!(!is_v1_profile(&to_item(&back)));
    }

    #[test]
    fn leaderboard_keys_sort_highest_total_first_then_id() {
        let mut users = [
            user("b", 5, 0),
            user("A", 2, 3),
            user("c", 9, 1),
            user("z", 0, 0),
        ];
        users.sort_by_key(leaderboard_key);
        let order: Vec<_> = users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(order, ["c", "A", "b", "z"]);
    }
}
