//! The activity job's records: for each journeyer, the UTC days on which
//! GitHub showed a public contribution, the ETag of the last events page
//! read, the corrections learned from admins, and the last failure; and the
//! job's walk of the profiles (the users list, `GSI1`, oldest first).
//!
//! The record is its own item beside the profile, in the profile's
//! partition (`USER#<id>` / `ACTIVITY`): the profile is rewritten whole by
//! every write of it, the days are added to a string set, so neither write
//! loses the other's attributes. Every write of the record is one
//! transaction with the profile, conditioned on both as read: the days, the
//! profile's numbers and its leaderboard key move together, and two runs at
//! once cannot apply one change twice (the loser reads again and finds
//! nothing left to do). The numbers follow from the days by the rule in
//! `crate::domain::activity`. See `docs/activity.md`.

use super::Repository;
pub use super::codec::activity::{ActivityError, ActivityRecord, JourneyRead};
use super::codec::activity::{Update, activity_from_item};
use super::codec::user::{UserRecord, from_item};
use super::error::Result;
use super::item::{n, parsed, s, string};
use super::keys::{ACTIVITY, PROFILE, USERS, user_pk};
use super::parts::check_live_profile;
use super::read::ScanKey;
use super::retry::Attempt;
use super::schema::{GSI1, PK, SK};
use super::write::{Outcome, Write};
use crate::domain::{Progress, Timestamp, UserId};
use crate::page::Position;
use crate::page::Window;

/// A journeyer as the job reads one: the live profile and its record.
#[derive(Clone, Debug)]
pub struct Journeyer {
    pub record: UserRecord,
    pub activity: ActivityRecord,
}

/// What recording a journeyer's activity did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Active days not recorded before.
    pub new_days: u64,
    /// Whether the profile's numbers changed (and so its leaderboard place).
    pub changed: bool,
    /// The profile's progress now.
    pub progress: Progress,
}

impl Repository {
    /// Up to `limit` profiles of the users list after `after` (oldest
    /// first: a profile made during a run joins at its end), each with the
    /// key a walk resumes after; and whether more follow. One Query of the
    /// users index, as `GET /users` makes.
    pub async fn journeyers(
        &self,
        after: Option<&ScanKey>,
        limit: u32,
    ) -> Result<(Vec<(UserId, ScanKey)>, bool)> {
        let page = Window::after(
            limit,
            after.map(|key| Position {
                key: key.clone(),
                served: 0,
            }),
        );
        let found = self.query_page(GSI1, USERS, true, &page).await?;
        let more = found.next.is_some();
        let walked = found
            .items
            .iter()
            .map(|item| {
                let key = [PK, SK, GSI1.partition_key, GSI1.sort_key]
                    .into_iter()
                    .map(|name| Ok((name.to_owned(), string(item, name)?)))
                    .collect::<Result<ScanKey>>()?;
                Ok((parsed(item, "id")?, key))
            })
            .collect::<Result<_>>()?;
        Ok((walked, more))
    }

    /// The live profile `id` and its activity record, read consistently in
    /// one Query of the profile's partition; `None` when there is no live
    /// profile (never made, deleted, being deleted).
    pub async fn journeyer(&self, id: &UserId) -> Result<Option<Journeyer>> {
        let out = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(user_pk(id)))
            .consistent_read(true)
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await?;
        self.record("Query", out.consumed_capacity());
        let (mut profile, mut activity) = (None, ActivityRecord::default());
        for item in out.items.unwrap_or_default() {
            match string(&item, SK)?.as_str() {
                PROFILE if !item.contains_key("deletedAt") => profile = Some(from_item(&item)?),
                ACTIVITY => activity = activity_from_item(&item)?,
                _ => {}
            }
        }
        Ok(profile.map(|record| Journeyer { record, activity }))
    }

    /// The journeyer a first attempt was given, or, on a later attempt after
    /// a lost race, read again.
    pub(super) async fn given_or_read(
        &self,
        given: Option<Journeyer>,
        id: &UserId,
    ) -> Result<Option<Journeyer>> {
        match given {
            Some(journeyer) => Ok(Some(journeyer)),
            None => self.journeyer(id).await,
        }
    }

    /// Records on `journeyer`'s activity record that its events could not
    /// be read (`status`: GitHub's answer, `None` if it could not be
    /// reached). Its days and numbers stay as they are. `false` when the
    /// profile is gone.
    #[tracing::instrument(skip_all, fields(id = journeyer.record.user.id.as_str()))]
    pub async fn record_activity_error(
        &self,
        journeyer: Journeyer,
        status: Option<u16>,
        message: &str,
    ) -> Result<bool> {
        let id = journeyer.record.user.id.clone();
        let mut given = Some(journeyer);
        self.optimistic(|| {
            let given = given.take();
            let id = &id;
            async move {
                let Some(journeyer) = self.given_or_read(given, id).await? else {
                    return Ok(Attempt::Done(false));
                };
                let rev = journeyer.activity.rev;
                let mut write = Write::new(&self.table);
                check_live_profile(&mut write, id)?;
                let (mut update, condition) = Update::new(rev);
                update.set("error", s(message));
                update.set("errorAt", s(Timestamp::now().as_str()));
                match status {
                    Some(status) => update.set("errorStatus", n(u64::from(status))),
                    None => update.remove.push("errorStatus"),
                }
                update.into_write(&mut write, id, condition)?;
                Ok(match self.commit(write).await? {
                    Outcome::Committed => Attempt::Done(true),
                    Outcome::Cancelled(_) => Attempt::Lost,
                })
            }
        })
        .await
    }
}
