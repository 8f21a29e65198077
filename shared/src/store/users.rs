//! Users, their owner claims and the leaderboard.
//!
//! A profile is one item; a second item, keyed by the caller's `sub`, claims
//! the profile for its owner. Both are written in one transaction with
//! `attribute_not_exists` conditions, so the database itself keeps ids unique
//! (case-insensitively) and one profile per caller. The profile item also
//! carries the leaderboard's sparse-index key, so a score change moves the
//! user on the leaderboard in the same write.
//!
//! Deleting a user replaces the profile with a tombstone (no index keys, so it
//! leaves every list and the leaderboard at once) and marks the owner claim as
//! deleting. Both stay until the purge (`crate::jobs::purge_user`) has removed
//! everything the user owned: the id and the caller stay reserved meanwhile,
//! and writes that would add to the user's things are refused. See
//! `docs/deletion.md`.

use super::item::{n, number, optional_parsed, parsed, s, string, timestamp};
use super::schema::{GSI1, GSI2, PK, SK};
use super::write::{check, delete, put};
use super::{Item, Page, Repository};
use crate::domain::{Progress, RankedUser, Timestamp, User, UserId, UserOrder};
use crate::error::ApiError;
use crate::request::PageRequest;
use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, TransactWriteItem};

const PROFILE: &str = "PROFILE";
const USERS: &str = "USERS";
const LEADERBOARD: &str = "LEADERBOARD";
/// The index partition of the deletions still being purged, oldest first.
const PURGES: &str = "PURGES";
/// Marks a deleted profile (a tombstone) and its owner claim.
const DELETED_AT: &str = "deletedAt";
/// How often a write that lost a race with another write is tried again.
const WRITE_ATTEMPTS: usize = 5;

pub(super) fn user_pk(id: &UserId) -> String {
    format!("USER#{}", id.key())
}

fn claim_pk(sub: &str) -> String {
    format!("CALLER#{sub}")
}

/// Sort key of the leaderboard: ascending order is highest total first
/// (the total is stored inverted, zero-padded), then id ascending.
fn leaderboard_key(user: &User) -> String {
    format!("{:020}#{}", u64::MAX - user.total_score(), user.id.key())
}

/// Holds a transaction to `id` having a live profile (not deleted, not being deleted).
pub(super) fn live_profile(table: &str, id: &UserId) -> Result<TransactWriteItem, ApiError> {
    check(
        table,
        user_pk(id),
        PROFILE,
        "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
    )
}

/// Holds a transaction to the caller `sub` not having a profile being deleted.
pub(super) fn caller_not_deleting(table: &str, sub: &str) -> Result<TransactWriteItem, ApiError> {
    check(
        table,
        claim_pk(sub),
        PROFILE,
        "attribute_not_exists(deletedAt)",
    )
}

/// A deleted user whose things are still being removed: the tombstone's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purge {
    pub id: UserId,
    /// The `sub` of the caller who owned the profile (its ratings are keyed by it).
    pub owner: String,
    pub deleted_at: Timestamp,
}

fn tombstone(purge: &Purge) -> Item {
    Item::from([
        (PK.to_owned(), s(user_pk(&purge.id))),
        (SK.to_owned(), s(PROFILE)),
        (GSI1.partition_key.to_owned(), s(PURGES)),
        (
            GSI1.sort_key.to_owned(),
            s(format!("{}#{}", purge.deleted_at.as_str(), purge.id.key())),
        ),
        ("id".to_owned(), s(purge.id.as_str())),
        ("owner".to_owned(), s(&purge.owner)),
        (DELETED_AT.to_owned(), s(purge.deleted_at.as_str())),
        ("rounds".to_owned(), n(0)),
    ])
}

fn purge_from_item(item: &Item) -> Result<Purge, ApiError> {
    Ok(Purge {
        id: parsed(item, "id")?,
        owner: string(item, "owner")?,
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
    /// The `sub` of the caller who created the profile.
    pub owner: String,
    version: u64,
}

/// Attribute names a profile had before contract v2, and their v2 names.
/// Profiles are read under either; every write stores the v2 names, and the
/// reconcile job rewrites a profile it meets still holding v1 names.
const V1_NAMES: [(&str, &str); 2] = [("avatarUrl", "avatarImage"), ("createdAt", "dateJoined")];

/// Whether a stored profile still has attribute names from before v2.
pub(super) fn is_v1_profile(item: &Item) -> bool {
    V1_NAMES.iter().any(|(v1, _)| item.contains_key(*v1))
}

fn to_item(record: &UserRecord) -> Item {
    let user = &record.user;
    let progress = &user.progress;
    let mut item = Item::from([
        (PK.to_owned(), s(user_pk(&user.id))),
        (SK.to_owned(), s(PROFILE)),
        (GSI1.partition_key.to_owned(), s(USERS)),
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
        ("owner".to_owned(), s(&record.owner)),
        ("version".to_owned(), n(record.version)),
    ]);
    let optional = [
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

fn from_item(item: &Item) -> Result<UserRecord, ApiError> {
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
    let count = |name| match item.get(name) {
        None => Ok(Default::default()),
        Some(_) => number(item, name)?.try_into().map_err(ApiError::internal),
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
                github_score: count("githubScore")?,
                github_streak: count("githubStreak")?,
                twitter_score: count("twitterScore")?,
                twitter_streak: count("twitterStreak")?,
                days_completed: match item.get("daysCompleted") {
                    None => Default::default(),
                    Some(_) => number(item, "daysCompleted")?
                        .try_into()
                        .map_err(ApiError::internal)?,
                },
            },
            date_joined: timestamp(item, "dateJoined")?,
            updated_at: timestamp(item, "updatedAt")?,
        },
        owner: string(item, "owner")?,
        version: number(item, "version")?,
    })
}

fn not_found(id: &UserId) -> ApiError {
    ApiError::NotFound(format!("no user {}", id.as_str()))
}

impl Repository {
    /// Creates `user` as the profile of the caller `owner`. 409 if the id is
    /// taken (in any case) or the caller already has a profile.
    #[tracing::instrument(skip_all, fields(id = user.id.as_str()))]
    pub async fn create_user(&self, owner: &str, user: User) -> Result<User, ApiError> {
        let record = UserRecord {
            user,
            owner: owner.to_owned(),
            version: 1,
        };
        let table = self.table.as_ref();
        let claim = Item::from([
            (PK.to_owned(), s(claim_pk(owner))),
            (SK.to_owned(), s(PROFILE)),
            ("userId".to_owned(), s(record.user.id.as_str())),
        ]);
        let items = vec![
            put(table, to_item(&record), "attribute_not_exists(PK)", None)?,
            put(table, claim, "attribute_not_exists(PK)", None)?,
        ];
        match self
            .try_transact(items)
            .await?
            .as_ref()
            .map_err(Vec::as_slice)
        {
            Ok(()) => Ok(record.user),
            Err([true, ..]) => Err(ApiError::Conflict(format!(
                "the id {} is taken (a deleted user's id is free once its deletion has finished)",
                record.user.id.as_str()
            ))),
            Err([_, true]) => Err(ApiError::Conflict(
                "the caller already has a profile, or its deletion has not finished yet".into(),
            )),
            Err(_) => Err(ApiError::Conflict(
                "a concurrent change got in the way; try again".into(),
            )),
        }
    }

    /// The user with this id (any case), or 404 (also while it is being deleted).
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn user(&self, id: &UserId) -> Result<UserRecord, ApiError> {
        let item = self.get(user_pk(id), PROFILE).await?;
        item.filter(|item| !item.contains_key(DELETED_AT))
            .as_ref()
            .map(from_item)
            .transpose()?
            .ok_or_else(|| not_found(id))
    }

    /// The id of the profile that `sub` owns, if it has one that is not being deleted.
    #[tracing::instrument(skip_all)]
    pub async fn profile_of(&self, sub: &str) -> Result<Option<UserId>, ApiError> {
        let item = self.get(claim_pk(sub), PROFILE).await?;
        item.filter(|item| !item.contains_key(DELETED_AT))
            .map(|item| parsed(&item, "userId"))
            .transpose()
    }

    /// The profile id of `sub`, about to write something only callers with a
    /// profile may write (articles, reviews); 403 when it has none.
    pub async fn writer(&self, sub: &str) -> Result<UserId, ApiError> {
        self.profile_of(sub).await?.ok_or_else(|| {
            ApiError::Forbidden("create your profile (POST /users) before writing".into())
        })
    }

    /// Changes the user `id` with `change`, which sees the stored record and
    /// may refuse. The write is conditioned on the version it read; when
    /// another write got there first, it reads again and retries.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn update_user(
        &self,
        id: &UserId,
        change: impl Fn(&mut UserRecord) -> Result<(), ApiError>,
    ) -> Result<User, ApiError> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut record = self.user(id).await?;
            let read_version = record.version;
            change(&mut record)?;
            record.version = read_version + 1;
            let result = self
                .client
                .put_item()
                .table_name(self.table.as_ref())
                .set_item(Some(to_item(&record)))
                .condition_expression("version = :read")
                .expression_attribute_values(":read", n(read_version))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            match result {
                Ok(out) => {
                    self.meter.record("PutItem", out.consumed_capacity());
                    return Ok(record.user);
                }
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(ApiError::Conflict(
            "the user is being changed by other requests; try again".into(),
        ))
    }

    /// Deletes the user `id`, after `allow` has seen the stored record: in one
    /// transaction the profile becomes a tombstone and the owner claim is
    /// marked deleting. Returns the purge that must now remove the user's
    /// things. 404 if there is no such user (or it is already being deleted).
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn delete_user(
        &self,
        id: &UserId,
        allow: impl Fn(&UserRecord) -> Result<(), ApiError>,
    ) -> Result<Purge, ApiError> {
        let table = self.table.as_ref();
        let record = self.user(id).await?;
        allow(&record)?;
        let purge = Purge {
            id: record.user.id.clone(),
            owner: record.owner.clone(),
            deleted_at: Timestamp::now(),
        };
        let claim = Item::from([
            (PK.to_owned(), s(claim_pk(&record.owner))),
            (SK.to_owned(), s(PROFILE)),
            ("userId".to_owned(), s(id.as_str())),
            (DELETED_AT.to_owned(), s(purge.deleted_at.as_str())),
        ]);
        let items = vec![
            put(
                table,
                tombstone(&purge),
                "version = :v",
                Some(n(record.version)),
            )?,
            put(table, claim, "attribute_exists(PK)", None)?,
        ];
        match self.try_transact(items).await? {
            Ok(()) => Ok(purge),
            Err(_) => Err(ApiError::Conflict(
                "the user changed while it was being deleted; try again".into(),
            )),
        }
    }

    /// The deletion of the user stored under `pk` still being purged, if any.
    pub async fn purge_at(&self, pk: &str) -> Result<Option<Purge>, ApiError> {
        let item = self.get(pk.to_owned(), PROFILE).await?;
        item.filter(|item| item.contains_key(DELETED_AT))
            .as_ref()
            .map(purge_from_item)
            .transpose()
    }

    /// Up to `limit` deletions still being purged, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn pending_purges(&self, limit: u32) -> Result<Vec<Purge>, ApiError> {
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
    #[tracing::instrument(skip_all, fields(id = purge.id.as_str()))]
    pub async fn continue_purge(&self, purge: &Purge) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .key(PK, s(user_pk(&purge.id)))
            .key(SK, s(PROFILE))
            .update_expression("ADD rounds :one")
            .condition_expression("attribute_exists(deletedAt)")
            .expression_attribute_values(":one", n(1))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.meter.record("UpdateItem", out.consumed_capacity());
                Ok(())
            }
            // Finished by another run meanwhile: nothing to continue.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Ends `purge` once the user owns nothing more: the tombstone and the
    /// claim go, and the id and the caller are free again. Harmless if
    /// another run ended it first.
    #[tracing::instrument(skip_all, fields(id = purge.id.as_str()))]
    pub async fn finish_purge(&self, purge: &Purge) -> Result<(), ApiError> {
        let table = self.table.as_ref();
        let condition = "attribute_exists(deletedAt)";
        let items = vec![
            delete(table, user_pk(&purge.id), PROFILE, condition, None)?,
            delete(table, claim_pk(&purge.owner), PROFILE, condition, None)?,
        ];
        self.transact(items).await.map(|_| ())
    }

    /// Users in the order they joined, oldest or newest first: one Query on
    /// the creation-order index, forwards or backwards.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_users(
        &self,
        order: UserOrder,
        page: &PageRequest,
    ) -> Result<Page<User>, ApiError> {
        let oldest_first = order == UserOrder::Oldest;
        let found = self.query_page(GSI1, USERS, oldest_first, page).await?;
        found.try_map(|item| from_item(&item).map(|record| record.user))
    }

    /// The leaderboard: highest total first, ties by id. One Query on the
    /// sparse ranking index, whatever the number of users.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn top_scores(&self, page: &PageRequest) -> Result<Page<RankedUser>, ApiError> {
        let found = self.query_page(GSI2, LEADERBOARD, true, page).await?;
        let mut rank = page.offset();
        found.try_map(|item| {
            rank += 1;
            Ok(RankedUser {
                rank,
                user: from_item(&item)?.user,
            })
        })
    }

    /// Checks a profile's derived attributes (its total, its place in the
    /// users list and on the leaderboard) against its scores, and rewrites
    /// the profile if they differ or it still has v1 attribute names,
    /// conditioned on the version read.
    pub(super) async fn repair_profile(&self, stored: &Item) -> Result<ProfileCheck, ApiError> {
        let mut record = from_item(stored)?;
        let derived = [
            GSI1.partition_key,
            GSI1.sort_key,
            GSI2.partition_key,
            GSI2.sort_key,
            "totalScore",
        ];
        let expected = to_item(&record);
        let drifted = derived
            .iter()
            .any(|key| stored.get(*key) != expected.get(*key));
        if !drifted && !is_v1_profile(stored) {
            return Ok(ProfileCheck::Right);
        }
        let read_version = record.version;
        record.version += 1;
        let item = put(
            self.table.as_ref(),
            to_item(&record),
            "version = :v",
            Some(n(read_version)),
        )?;
        // A lost race means a write rewrote the profile, derived keys included.
        if !self.transact(vec![item]).await? {
            return Ok(ProfileCheck::Right);
        }
        let id = record.user.id.as_str();
        Ok(if drifted {
            tracing::warn!(id, "repaired a leaderboard entry");
            ProfileCheck::Repaired
        } else {
            tracing::info!(id, "rewrote a v1 profile in v2's names");
            ProfileCheck::Upgraded
        })
    }
}

/// What the reconcile job did with a profile it checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ProfileCheck {
    /// Nothing to do (or a concurrent write rewrote it first).
    Right,
    /// Its derived attributes had drifted, and were rewritten.
    Repaired,
    /// It had v1 attribute names, and was rewritten in v2's.
    Upgraded,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
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

    #[test]
    fn items_round_trip() {
        let mut record = UserRecord {
            user: user("Alice", 1, 2),
            owner: "sub-1".into(),
            version: 3,
        };
        record.user.bio = Some("hello".to_owned().try_into().expect("bio"));
        record.user.linkedin_profile = Some("alice-a".to_owned().try_into().expect("linkedin"));
        record.user.progress.days_completed = 42.try_into().expect("days");
        let back = from_item(&to_item(&record)).expect("round trip");
        assert_eq!(back.user, record.user);
        assert_eq!(back.owner, "sub-1");
        assert_eq!(back.version, 3);
    }

    #[test]
    fn profiles_written_under_v1_are_read() {
        let record = UserRecord {
            user: user("Alice", 1, 2),
            owner: "sub-1".into(),
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
