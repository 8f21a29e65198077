//! Users, their owner claims and the leaderboard.
//!
//! A profile is one item; a second item, keyed by the caller's `sub`, claims
//! the profile for its owner. Both are written in one transaction with
//! `attribute_not_exists` conditions, so the database itself keeps ids unique
//! (case-insensitively) and one profile per caller. The profile item also
//! carries the leaderboard's sparse-index key, so a score change moves the
//! user on the leaderboard in the same write.

use super::item::{n, number, optional_parsed, parsed, s, string, timestamp};
use super::schema::{GSI1, GSI2, PK, SK};
use super::{Item, Page, Repository, failed_conditions};
use crate::domain::{RankedUser, User, UserId};
use crate::error::ApiError;
use crate::request::PageRequest;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnConsumedCapacity, TransactWriteItem};

const PROFILE: &str = "PROFILE";
const USERS: &str = "USERS";
const LEADERBOARD: &str = "LEADERBOARD";
/// How often a write that lost a race with another write is tried again.
const WRITE_ATTEMPTS: usize = 5;

fn user_pk(id: &UserId) -> String {
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

/// A profile as stored: the user, who owns it, and its version for
/// optimistic concurrency.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: User,
    /// The `sub` of the caller who created the profile.
    pub owner: String,
    version: u64,
}

fn to_item(record: &UserRecord) -> Item {
    let user = &record.user;
    let mut item = Item::from([
        (PK.to_owned(), s(user_pk(&user.id))),
        (SK.to_owned(), s(PROFILE)),
        (GSI1.partition_key.to_owned(), s(USERS)),
        (
            GSI1.sort_key.to_owned(),
            s(format!("{}#{}", user.created_at.as_str(), user.id.key())),
        ),
        (GSI2.partition_key.to_owned(), s(LEADERBOARD)),
        (GSI2.sort_key.to_owned(), s(leaderboard_key(user))),
        ("id".to_owned(), s(user.id.as_str())),
        ("name".to_owned(), s(user.name.as_str())),
        ("githubScore".to_owned(), n(user.github_score.get())),
        ("twitterScore".to_owned(), n(user.twitter_score.get())),
        ("totalScore".to_owned(), n(user.total_score())),
        ("createdAt".to_owned(), s(user.created_at.as_str())),
        ("updatedAt".to_owned(), s(user.updated_at.as_str())),
        ("owner".to_owned(), s(&record.owner)),
        ("version".to_owned(), n(record.version)),
    ]);
    let optional = [
        (
            "twitterProfile",
            user.twitter_profile.as_ref().map(|v| v.as_str()),
        ),
        ("bio", user.bio.as_ref().map(|v| v.as_str())),
        ("avatarUrl", user.avatar_url.as_ref().map(|v| v.as_str())),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

fn from_item(item: &Item) -> Result<UserRecord, ApiError> {
    let score = |name| number(item, name)?.try_into().map_err(ApiError::internal);
    Ok(UserRecord {
        user: User {
            id: parsed(item, "id")?,
            name: parsed(item, "name")?,
            twitter_profile: optional_parsed(item, "twitterProfile")?,
            bio: optional_parsed(item, "bio")?,
            avatar_url: optional_parsed(item, "avatarUrl")?,
            github_score: score("githubScore")?,
            twitter_score: score("twitterScore")?,
            created_at: timestamp(item, "createdAt")?,
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
        let profile = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(to_item(&record)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(ApiError::internal)?;
        let claim = Put::builder()
            .table_name(self.table.as_ref())
            .item(PK, s(claim_pk(owner)))
            .item(SK, s(PROFILE))
            .item("userId", s(record.user.id.as_str()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(ApiError::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(profile).build())
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.meter
                    .record("TransactWriteItems", out.consumed_capacity());
                Ok(record.user)
            }
            Err(err) => match failed_conditions(&err).as_deref() {
                Some([true, ..]) => Err(ApiError::Conflict(format!(
                    "the id {} is taken",
                    record.user.id.as_str()
                ))),
                Some([_, true]) => Err(ApiError::Conflict(
                    "the caller already has a profile".into(),
                )),
                _ => Err(err.into()),
            },
        }
    }

    /// The user with this id (any case), or 404.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn user(&self, id: &UserId) -> Result<UserRecord, ApiError> {
        let item = self.get(user_pk(id), PROFILE).await?;
        item.as_ref()
            .map(from_item)
            .transpose()?
            .ok_or_else(|| not_found(id))
    }

    /// The id of the profile that `sub` owns, if it has one.
    #[tracing::instrument(skip_all)]
    pub async fn profile_of(&self, sub: &str) -> Result<Option<UserId>, ApiError> {
        let item = self.get(claim_pk(sub), PROFILE).await?;
        item.map(|item| parsed(&item, "userId")).transpose()
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

    /// Deletes the user `id` and its owner claim in one transaction, after
    /// `allow` has seen the stored record. 404 if there is no such user.
    #[tracing::instrument(skip_all, fields(id = id.as_str()))]
    pub async fn delete_user(
        &self,
        id: &UserId,
        allow: impl Fn(&UserRecord) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let record = self.user(id).await?;
        allow(&record)?;
        let profile = Delete::builder()
            .table_name(self.table.as_ref())
            .key(PK, s(user_pk(id)))
            .key(SK, s(PROFILE))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(record.version))
            .build()
            .map_err(ApiError::internal)?;
        let claim = Delete::builder()
            .table_name(self.table.as_ref())
            .key(PK, s(claim_pk(&record.owner)))
            .key(SK, s(PROFILE))
            .build()
            .map_err(ApiError::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(profile).build())
            .transact_items(TransactWriteItem::builder().delete(claim).build())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.meter
                    .record("TransactWriteItems", out.consumed_capacity());
                Ok(())
            }
            Err(err) if failed_conditions(&err).is_some_and(|f| f.first() == Some(&true)) => Err(
                ApiError::Conflict("the user changed while it was being deleted; try again".into()),
            ),
            Err(err) => Err(err.into()),
        }
    }

    /// Users, oldest profile first: one Query on the creation-order index.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn list_users(&self, page: &PageRequest) -> Result<Page<User>, ApiError> {
        let found = self.query_page(GSI1, USERS, true, page).await?;
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
        let back = from_item(&to_item(&record)).expect("round trip");
        assert_eq!(back.user, record.user);
        assert_eq!(back.owner, "sub-1");
        assert_eq!(back.version, 3);
    }
}
