//! Users: profiles, their owner claims, and deletion tombstones (`/users`).
//!
//! A profile is one item; a second item, keyed by the caller's `sub`, claims
//! the profile for its owner. Both are written in one transaction with
//! `attribute_not_exists` conditions, so the database itself keeps ids unique
//! (case-insensitively) and one profile per caller. The profile item also
//! carries the leaderboard's sparse-index key (`leaderboard.rs`), so a score
//! change moves the user on the leaderboard in the same write.
//!
//! Deleting a user replaces the profile with a tombstone (no index keys, so it
//! leaves every list and the leaderboard at once) and marks the owner claim as
//! deleting. Both stay until the purge (`crate::jobs::purge_user`) has removed
//! everything the user owned: the id and the caller stay reserved meanwhile,
//! and writes that would add to the user's things are refused. See
//! `docs/deletion.md`.

use super::error::{Guarded, Missing, Result, StoreError};
use super::idempotency::Once;
use super::item::{
    counted, n, number, optional_parsed, optional_string, parsed, s, string, timestamp,
};
use super::leaderboard::{LEADERBOARD, leaderboard_key};
use super::read::{Read, key};
use super::retry::Attempt;
use super::schema::{GSI1, GSI2, PK, SK};
use super::write::{Outcome, Part, Write};
use super::{Item, Page, Repository};
use crate::domain::{Progress, Timestamp, User, UserId, UserOrder};
use crate::request::PageRequest;
use std::collections::HashSet;

/// The most profiles one import batch reads and writes: the limit of one
/// `BatchGetItem` and of one `TransactWriteItems`.
const BATCH: usize = 100;

pub(super) const PROFILE: &str = "PROFILE";
pub(super) const USERS: &str = "USERS";
/// The index partition of the profiles the import made for articles'
/// authors: found by id and on the leaderboard, but not in the users lists
/// (`GET /users`, the front end's "new journeyers"), until handed over.
const AUTHORS: &str = "AUTHORS";
/// Marks a profile the import made for an author (value `author`).
const MADE_FOR: &str = "madeFor";
/// The index partition of the deletions still being purged, oldest first.
const PURGES: &str = "PURGES";
/// Marks a deleted profile (a tombstone) and its owner claim.
const DELETED_AT: &str = "deletedAt";
/// The `sub` of a profile's owner; absent on an imported profile until an
/// admin hands it over.
const OWNER: &str = "owner";
/// The token of the create call that wrote a profile (never shown).
const CREATED_BY: &str = "createdBy";

pub(super) fn user_pk(id: &UserId) -> String {
    format!("USER#{}", id.key())
}

fn claim_pk(sub: &str) -> String {
    format!("CALLER#{sub}")
}

/// Holds `write` to `id` having a live profile (not deleted, not being deleted).
pub(super) fn check_live_profile(write: &mut Write, id: &UserId) -> Result<()> {
    write.check(
        Part::Author,
        user_pk(id),
        PROFILE,
        "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
    )?;
    Ok(())
}

/// Holds `write` to the caller `sub` not having a profile being deleted.
pub(super) fn check_caller_not_deleting(write: &mut Write, sub: &str) -> Result<()> {
    write.check(
        Part::Claim,
        claim_pk(sub),
        PROFILE,
        "attribute_not_exists(deletedAt)",
    )?;
    Ok(())
}

/// A deleted user whose things are still being removed: the tombstone's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purge {
    pub id: UserId,
    /// The `sub` of the caller who owned the profile (its ratings are keyed
    /// by it); `None` for an imported profile no caller was given.
    pub owner: Option<String>,
    pub deleted_at: Timestamp,
}

fn tombstone(purge: &Purge) -> Item {
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

fn purge_from_item(item: &Item) -> Result<Purge> {
    Ok(Purge {
        id: parsed(item, "id")?,
        owner: optional_string(item, OWNER),
        deleted_at: timestamp(item, DELETED_AT)?,
    })
}

/// Whether `item` is a profile (not a claim, not a tombstone).
pub(super) fn is_live_profile(item: &Item) -> bool {
    string(item, SK).is_ok_and(|sk| sk == PROFILE)
        && string(item, PK).is_ok_and(|pk| pk.starts_with("USER#"))
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
    pub(super) version: u64,
}

/// Attribute names a profile had before contract v2, and their v2 names.
/// Profiles are read under either; every write stores the v2 names, and the
/// reconcile job rewrites a profile it meets still holding v1 names.
const V1_NAMES: [(&str, &str); 2] = [("avatarUrl", "avatarImage"), ("createdAt", "dateJoined")];

/// Whether a stored profile still has attribute names from before v2.
pub(super) fn is_v1_profile(item: &Item) -> bool {
    V1_NAMES.iter().any(|(v1, _)| item.contains_key(*v1))
}

pub(super) fn to_item(record: &UserRecord) -> Item {
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
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

pub(super) fn from_item(item: &Item) -> Result<UserRecord> {
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
        },
        owner: optional_string(item, OWNER),
        made_for_author: item.contains_key(MADE_FOR),
        version: number(item, "version")?,
    })
}

fn claim(sub: &str, id: &UserId) -> Item {
    Item::from([
        (PK.to_owned(), s(claim_pk(sub))),
        (SK.to_owned(), s(PROFILE)),
        ("userId".to_owned(), s(id.as_str())),
    ])
}

impl Repository {
    /// Creates `user` as the profile of the caller `owner` (once, with
    /// `once`). Refused when the id is taken (in any case) or the caller
    /// already has a profile.
    #[tracing::instrument(skip_all, fields(id = user.id.as_str()))]
    pub async fn create_user(
        &self,
        owner: &str,
        user: User,
        once: Option<&Once<'_, User>>,
    ) -> Result<User> {
        let record = UserRecord {
            user,
            owner: Some(owner.to_owned()),
            made_for_author: false,
            version: 1,
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut item = to_item(&record);
        item.insert(CREATED_BY.to_owned(), s(&token));
        let answer = self.once_record(once, &record.user);
        self.optimistic(|| async {
            let mut write = Write::new(&self.table);
            write.put(Part::Main, item.clone(), "attribute_not_exists(PK)", None)?;
            write.put(
                Part::Claim,
                claim(owner, &record.user.id),
                "attribute_not_exists(PK)",
                None,
            )?;
            write.remember(answer.as_ref())?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(record.user.clone())),
                Outcome::Cancelled(c) if c.by_record() => {
                    Err(StoreError::ConditionFailed(Guarded::IdempotencyKey))
                }
                // This very write, applied by an earlier attempt whose answer
                // was lost (then retried into a conflict): done, not a 409.
                Outcome::Cancelled(_)
                    if self.profile_created_by(&record.user.id, &token).await? =>
                {
                    Ok(Attempt::Done(record.user.clone()))
                }
                Outcome::Cancelled(c) if c.failed(Part::Main) => {
                    Err(StoreError::ConditionFailed(Guarded::TakenId))
                }
                Outcome::Cancelled(c) if c.failed(Part::Claim) => {
                    Err(StoreError::ConditionFailed(Guarded::CallerClaim))
                }
                Outcome::Cancelled(_) => Ok(Attempt::Lost),
            }
        })
        .await
    }

    /// Creates the imported profiles `users`, owned by no caller, skipping
    /// every one whose id (in any case) is taken. Up to [`BATCH`] at a time
    /// are read in one `BatchGetItem` and the missing ones written in one
    /// transaction, each conditioned on its id being free, so a profile made
    /// meanwhile through the API is never overwritten: the batch is read
    /// again instead. Returns the ids it created.
    #[tracing::instrument(skip_all, fields(users = users.len()))]
    pub async fn import_profiles(&self, users: &[User]) -> Result<Vec<UserId>> {
        let mut created = Vec::new();
        for batch in users.chunks(BATCH) {
            created.extend(self.import_batch(batch, false).await?);
        }
        Ok(created)
    }

    /// [`Self::import_profiles`] for the authors of imported articles and
    /// reviews who have no profile: made so that nothing they wrote is lost,
    /// but they are not journeyers who joined, so they stay out of the users
    /// lists ([`UserRecord::made_for_author`]).
    #[tracing::instrument(skip_all, fields(users = users.len()))]
    pub async fn import_author_profiles(&self, users: &[User]) -> Result<Vec<UserId>> {
        let mut created = Vec::new();
        for batch in users.chunks(BATCH) {
            created.extend(self.import_batch(batch, true).await?);
        }
        Ok(created)
    }

    async fn import_batch(&self, users: &[User], made_for_author: bool) -> Result<Vec<UserId>> {
        self.optimistic(|| async {
            let keys = users.iter().map(|u| key(user_pk(&u.id), PROFILE)).collect();
            let taken: HashSet<String> = self
                .batch_get(keys, Read::Consistent)
                .await?
                .iter()
                .filter_map(|item| string(item, PK).ok())
                .collect();
            let missing: Vec<&User> = users
                .iter()
                .filter(|user| !taken.contains(&user_pk(&user.id)))
                .collect();
            if missing.is_empty() {
                return Ok(Attempt::Done(Vec::new()));
            }
            let mut write = Write::new(&self.table);
            for user in &missing {
                let record = UserRecord {
                    user: (*user).clone(),
                    owner: None,
                    made_for_author,
                    version: 1,
                };
                write.put(
                    Part::Main,
                    to_item(&record),
                    "attribute_not_exists(PK)",
                    None,
                )?;
            }
            Ok(match self.commit(write).await? {
                Outcome::Committed => Attempt::Done(missing.iter().map(|u| u.id.clone()).collect()),
                // An id was taken meanwhile, or a conflict: read the batch again.
                Outcome::Cancelled(_) => Attempt::Lost,
            })
        })
        .await
    }

    /// Makes the caller `sub` the owner of the imported profile `id`: once,
    /// only while no caller owns it, and only if `sub` owns no other profile
    /// (its claim is written in the same transaction).
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn hand_over(&self, id: &UserId, sub: &str) -> Result<User> {
        self.optimistic(|| async {
            let mut record = self.user_record(id, Read::Consistent).await?;
            if record.owner.is_some() {
                return Err(StoreError::ConditionFailed(Guarded::Owned));
            }
            let read = record.version;
            record.owner = Some(sub.to_owned());
            // Its owner signed in: a journeyer now, listed with the others.
            record.made_for_author = false;
            record.version = read + 1;
            let mut write = Write::new(&self.table);
            write.put(Part::Main, to_item(&record), "version = :v", Some(n(read)))?;
            write.put(
                Part::Claim,
                claim(sub, &record.user.id),
                "attribute_not_exists(PK)",
                None,
            )?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(record.user)),
                Outcome::Cancelled(c) if c.failed(Part::Claim) => {
                    Err(StoreError::ConditionFailed(Guarded::CallerClaim))
                }
                // The profile changed since it was read: read it again.
                Outcome::Cancelled(_) => Ok(Attempt::Lost),
            }
        })
        .await
    }

    /// Whether the profile `id` was written by the create call holding
    /// `token` (an attempt applied although its answer was lost).
    async fn profile_created_by(&self, id: &UserId, token: &str) -> Result<bool> {
        let stored = self.get(user_pk(id), PROFILE, Read::Consistent).await?;
        Ok(stored.is_some_and(|item| optional_string(&item, CREATED_BY).as_deref() == Some(token)))
    }

    /// The user with this id (any case); not found also while it is being
    /// deleted. A public read: eventually consistent.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn user(&self, id: &UserId) -> Result<UserRecord> {
        self.user_record(id, Read::Eventual).await
    }

    async fn user_record(&self, id: &UserId, read: Read) -> Result<UserRecord> {
        let item = self.get(user_pk(id), PROFILE, read).await?;
        item.filter(|item| !item.contains_key(DELETED_AT))
            .as_ref()
            .map(from_item)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(Missing::User(id.clone())))
    }

    /// The id of the profile that `sub` owns, if it has one that is not being
    /// deleted. Read consistently: a caller sees its own profile at once.
    #[tracing::instrument(skip_all)]
    pub async fn profile_of(&self, sub: &str) -> Result<Option<UserId>> {
        let item = self.get(claim_pk(sub), PROFILE, Read::Consistent).await?;
        item.filter(|item| !item.contains_key(DELETED_AT))
            .map(|item| parsed(&item, "userId"))
            .transpose()
    }

    /// The profile `sub` owns (`GET /me`), read consistently: its owner
    /// claim, then the profile. `None` when the caller has none, or it is
    /// being deleted.
    #[tracing::instrument(skip_all)]
    pub async fn own_profile(&self, sub: &str) -> Result<Option<User>> {
        let Some(id) = self.profile_of(sub).await? else {
            return Ok(None);
        };
        match self.user_record(&id, Read::Consistent).await {
            Ok(record) => Ok(Some(record.user)),
            // Deleted between the two reads.
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The profile id of `sub`, about to write something only callers with a
    /// profile may write (articles, reviews).
    pub async fn writer(&self, sub: &str) -> Result<UserId> {
        self.profile_of(sub)
            .await?
            .ok_or(StoreError::ConditionFailed(Guarded::WriterProfile))
    }

    /// Changes the user `id` with `change`, which sees the stored record and
    /// may refuse with the caller's own error. The write is conditioned on
    /// the version read; a lost race reads again.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn update_user<E: From<StoreError>>(
        &self,
        id: &UserId,
        change: impl Fn(&mut UserRecord) -> Result<(), E>,
    ) -> Result<User, E> {
        self.optimistic(|| async {
            let mut record = self.user_record(id, Read::Consistent).await?;
            let read = record.version;
            change(&mut record)?;
            record.version = read + 1;
            let mut write = Write::new(&self.table);
            write.put(Part::Main, to_item(&record), "version = :v", Some(n(read)))?;
            Ok(match self.commit(write).await? {
                Outcome::Committed => Attempt::Done(record.user),
                Outcome::Cancelled(_) => Attempt::Lost,
            })
        })
        .await
    }

    /// Deletes the user `id`, after `allow` has seen the stored record: in one
    /// transaction the profile becomes a tombstone and the owner claim is
    /// marked deleting. Returns the purge that must now remove the user's
    /// things. Not found if there is no such user (or it is already being deleted).
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn delete_user<E: From<StoreError>>(
        &self,
        id: &UserId,
        allow: impl Fn(&UserRecord) -> Result<(), E>,
    ) -> Result<Purge, E> {
        self.optimistic(|| async {
            let record = self.user_record(id, Read::Consistent).await?;
            allow(&record)?;
            let purge = Purge {
                id: record.user.id.clone(),
                owner: record.owner.clone(),
                deleted_at: Timestamp::now(),
            };
            let mut write = Write::new(&self.table);
            write.put(
                Part::Main,
                tombstone(&purge),
                "version = :v",
                Some(n(record.version)),
            )?;
            if let Some(owner) = &record.owner {
                let mut claim = claim(owner, id);
                claim.insert(DELETED_AT.to_owned(), s(purge.deleted_at.as_str()));
                write.put(Part::Claim, claim, "attribute_exists(PK)", None)?;
            }
            Ok(match self.commit(write).await? {
                Outcome::Committed => Attempt::Done(purge),
                Outcome::Cancelled(_) => Attempt::Lost,
            })
        })
        .await
    }

    /// The deletion of the user stored under `pk` still being purged, if any.
    pub async fn purge_at(&self, pk: &str) -> Result<Option<Purge>> {
        let item = self.get(pk.to_owned(), PROFILE, Read::Consistent).await?;
        item.filter(|item| item.contains_key(DELETED_AT))
            .as_ref()
            .map(purge_from_item)
            .transpose()
    }

    /// Up to `limit` deletions still being purged, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn pending_purges(&self, limit: u32) -> Result<Vec<Purge>> {
        let page = PageRequest {
            scope: PURGES.to_owned(),
            limit,
            start: None,
        };
        let found = self.query_page(GSI1, PURGES, true, &page).await?;
        found.items.iter().map(purge_from_item).collect()
    }

    /// Marks one more round of `purge` on its tombstone. In AWS, the table's
    /// stream carries the change to the purge function, which goes on.
    /// Nothing to do (the condition fails) when another run finished the
    /// purge meanwhile.
    #[tracing::instrument(skip_all, fields(id = purge.id.as_str()))]
    pub async fn continue_purge(&self, purge: &Purge) -> Result<()> {
        let mut write = Write::new(&self.table);
        let values = Item::from([(":one".to_owned(), n(1))]);
        write.update(
            Part::Main,
            (user_pk(&purge.id), PROFILE),
            "ADD rounds :one".to_owned(),
            Default::default(),
            values,
            Some("attribute_exists(deletedAt)"),
        )?;
        self.commit(write).await.map(|_| ())
    }

    /// Ends `purge` once the user owns nothing more: the tombstone, the
    /// claim and the activity job's record of the user go, and the id and
    /// the caller are free again. Harmless if another run ended it first.
    #[tracing::instrument(skip_all, fields(id = purge.id.as_str()))]
    pub async fn finish_purge(&self, purge: &Purge) -> Result<()> {
        let condition = "attribute_exists(deletedAt)";
        let mut write = Write::new(&self.table);
        write.delete(Part::Main, user_pk(&purge.id), PROFILE, condition, None)?;
        // No activity is recorded for a tombstone (every write of it checks
        // the profile), so what is there now is the last of it.
        write.delete_any(
            Part::Activity,
            user_pk(&purge.id),
            super::activity::ACTIVITY,
        )?;
        if let Some(owner) = &purge.owner {
            write.delete(Part::Claim, claim_pk(owner), PROFILE, condition, None)?;
        }
        self.commit(write).await.map(|_| ())
    }

    /// Users in the order they joined, oldest or newest first: one Query on
    /// the creation-order index, forwards or backwards. Profiles made for
    /// imported authors are in another partition of it, so not here.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_users(&self, order: UserOrder, page: &PageRequest) -> Result<Page<User>> {
        let oldest_first = order == UserOrder::Oldest;
        let found = self.query_page(GSI1, USERS, oldest_first, page).await?;
        found.try_map(|item| from_item(&item).map(|record| record.user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_json;

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
            version: 3,
        };
        record.user.bio = Some("hello".to_owned().try_into().expect("bio"));
        record.user.linkedin_profile = Some("alice-a".to_owned().try_into().expect("linkedin"));
        record.user.progress.days_completed = 42.try_into().expect("days");
        let back = from_item(&to_item(&record)).expect("round trip");
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
}
