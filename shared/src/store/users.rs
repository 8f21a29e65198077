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

use super::codec::user::{
    Purge, UserRecord, claim, from_item, purge_from_item, to_item, tombstone,
};
use super::error::{Missing, Precondition, Result, StoreError};
use super::item::{n, optional_string, parsed, s, string};
use super::keys::{ACTIVITY, DELETED_AT, PROFILE, PURGES, USERS, WEEK_PREFIX, claim_pk, user_pk};
use super::parts::answers::KeyedCreate;
use super::read::{Read, key};
use super::retry::Attempt;
use super::schema::{GSI1, PK, SK};
use super::write::{Outcome, Part, Write};
use super::{Item, Page, Repository};
use crate::domain::{Timestamp, User, UserId, UserOrder, Verification};
use crate::page::Window;
use std::collections::HashSet;

/// The most profiles one import batch reads and writes: the limit of one
/// `BatchGetItem` and of one `TransactWriteItems`.
const BATCH: usize = 100;

/// The token of the create call that wrote a profile (never shown).
const CREATED_BY: &str = "createdBy";

impl Repository {
    /// Creates `user` as the profile of the caller `owner` (once, with
    /// `once`). Refused when the id is taken (in any case) or the caller
    /// already has a profile.
    #[tracing::instrument(skip_all, fields(id = user.id.as_str()))]
    pub async fn create_user(
        &self,
        owner: &str,
        user: User,
        once: Option<&KeyedCreate<'_, User>>,
    ) -> Result<User> {
        let record = UserRecord {
            user,
            owner: Some(owner.to_owned()),
            made_for_author: false,
            verification: None,
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
            write.record_answer(answer.as_ref())?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(record.user.clone())),
                Outcome::Cancelled(c) if c.by_record() => {
                    Err(StoreError::ConditionFailed(Precondition::IdempotencyKey))
                }
                // This very write, applied by an earlier attempt whose answer
                // was lost (then retried into a conflict): done, not a 409.
                Outcome::Cancelled(_)
                    if self.profile_created_by(&record.user.id, &token).await? =>
                {
                    Ok(Attempt::Done(record.user.clone()))
                }
                Outcome::Cancelled(c) if c.failed(Part::Main) => {
                    Err(StoreError::ConditionFailed(Precondition::TakenId))
                }
                Outcome::Cancelled(c) if c.failed(Part::Claim) => {
                    Err(StoreError::ConditionFailed(Precondition::CallerClaim))
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
                    verification: None,
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
                return Err(StoreError::ConditionFailed(Precondition::Owned));
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
                    Err(StoreError::ConditionFailed(Precondition::CallerClaim))
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
            .ok_or(StoreError::ConditionFailed(Precondition::WriterProfile))
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

    /// Gives the profile `id` the pending verification `code` (replacing
    /// any), after `allow` has seen the stored record; once with `once` (its
    /// answer recorded in the same transaction).
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn set_verification<E: From<StoreError>>(
        &self,
        id: &UserId,
        code: &Verification,
        allow: impl Fn(&UserRecord) -> Result<(), E>,
        once: Option<&KeyedCreate<'_, Verification>>,
    ) -> Result<Verification, E> {
        let answer = self.once_record(once, code);
        self.optimistic(|| async {
            let mut record = self.user_record(id, Read::Consistent).await?;
            allow(&record)?;
            let read = record.version;
            record.verification = Some(code.clone());
            record.version = read + 1;
            let mut write = Write::new(&self.table);
            write.put(Part::Main, to_item(&record), "version = :v", Some(n(read)))?;
            write.record_answer(answer.as_ref())?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(code.clone())),
                Outcome::Cancelled(c) if c.by_record() => {
                    Err(StoreError::ConditionFailed(Precondition::IdempotencyKey).into())
                }
                Outcome::Cancelled(_) => Ok(Attempt::Lost),
            }
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
        let found = self
            .query_page(GSI1, PURGES, true, &Window::first(limit))
            .await?;
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
        write.delete_any(Part::Activity, user_pk(&purge.id), ACTIVITY)?;
        // And its entries in the weeks' leaderboards (the journey job
        // writes none for a tombstone either): a Query of the partition's
        // `WEEK#` items (a few at most: they expire after three weeks).
        let weeks = self
            .partition_items(&user_pk(&purge.id), Some(WEEK_PREFIX), SK)
            .await?;
        for item in weeks {
            write.delete_any(Part::Week, user_pk(&purge.id), &string(&item, SK)?)?;
        }
        if let Some(owner) = &purge.owner {
            write.delete(Part::Claim, claim_pk(owner), PROFILE, condition, None)?;
        }
        self.commit(write).await.map(|_| ())
    }

    /// Users in the order they joined, oldest or newest first: one Query on
    /// the creation-order index, forwards or backwards. Profiles made for
    /// imported authors are in another partition of it, so not here.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_users(&self, order: UserOrder, page: &Window) -> Result<Page<User>> {
        let oldest_first = order == UserOrder::Oldest;
        let found = self.query_page(GSI1, USERS, oldest_first, page).await?;
        found.try_map(|item| from_item(&item).map(|record| record.user))
    }
}
