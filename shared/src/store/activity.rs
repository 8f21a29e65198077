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

use super::codec::user::{UserRecord, from_item, to_item};
use super::error::{Result, StoreError};
use super::item::{n, optional_number, optional_string, parsed, s, string};
use super::keys::{ACTIVITY, PROFILE, USERS, user_pk};
use super::parts::check_live_profile;
use super::read::ScanKey;
use super::retry::Attempt;
use super::schema::{GSI1, PK, SK};
use super::write::{Outcome, Part, Write};
use super::{Item, Repository};
use crate::domain::activity::{Ledger, Shown, format_day, parse_day, settle, tally, utc_day};
use crate::domain::{Progress, Timestamp, UserId};
use crate::page::Position;
use crate::page::Window;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};
use time::Date;

/// The last failure to read a journeyer's events (cleared by the next success).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityError {
    /// GitHub's status (404: the account was renamed or deleted; 5xx), or
    /// `None` when GitHub could not be reached.
    pub status: Option<u16>,
    pub message: String,
    pub at: Timestamp,
}

/// What the job has recorded of one journeyer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityRecord {
    /// Every active UTC day seen so far (kept past GitHub's 90 days).
    pub days: BTreeSet<Date>,
    /// The `ETag` of the first page of events last read, sent back as
    /// `If-None-Match`.
    pub etag: Option<String>,
    /// The `created_at` of the newest event seen: reading stops at a page
    /// that reaches it.
    pub newest: Option<String>,
    pub ledger: Ledger,
    pub error: Option<ActivityError>,
    /// The stored revision (`None`: no record yet); writes are conditioned on it.
    rev: Option<u64>,
}

/// A journeyer as the job reads one: the live profile and its record.
#[derive(Clone, Debug)]
pub struct Journeyer {
    pub record: UserRecord,
    pub activity: ActivityRecord,
}

/// What a read of a journeyer's events found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Nothing new since the stored ETag (a 304).
    Unchanged,
    /// The days of the contribution events read, the first page's ETag, and
    /// the newest event's `created_at`.
    Events {
        days: BTreeSet<Date>,
        etag: Option<String>,
        newest: Option<String>,
    },
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

fn signed(item: &Item, name: &str) -> Result<i64> {
    match item.get(name) {
        None => Ok(0),
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::corrupt(format!("a malformed `{name}`"))),
        Some(_) => Err(StoreError::corrupt(format!("a malformed `{name}`"))),
    }
}

fn day(text: &str, name: &str) -> Result<Date> {
    parse_day(text).ok_or_else(|| StoreError::corrupt(format!("a malformed day in `{name}`")))
}

fn activity_from_item(item: &Item) -> Result<ActivityRecord> {
    let days = match item.get("days") {
        None => BTreeSet::new(),
        Some(AttributeValue::Ss(days)) => days
            .iter()
            .map(|text| day(text, "days"))
            .collect::<Result<_>>()?,
        Some(_) => return Err(StoreError::corrupt("a malformed `days`")),
    };
    let applied = match optional_number(item, "appliedScore")? {
        None => None,
        Some(score) => Some(Shown {
            score,
            streak: optional_number(item, "appliedStreak")?.unwrap_or(0),
            days: optional_number(item, "appliedDays")?.unwrap_or(0),
        }),
    };
    let error = match optional_string(item, "error") {
        None => None,
        Some(message) => Some(ActivityError {
            status: optional_number(item, "errorStatus")?.and_then(|s| u16::try_from(s).ok()),
            message,
            at: super::item::timestamp(item, "errorAt")?,
        }),
    };
    Ok(ActivityRecord {
        days,
        etag: optional_string(item, "etag"),
        newest: optional_string(item, "newest"),
        ledger: Ledger {
            applied,
            score_bonus: signed(item, "scoreBonus")?,
            days_bonus: signed(item, "daysBonus")?,
            streak_bonus: signed(item, "streakBonus")?,
            streak_anchor: optional_string(item, "streakAnchor")
                .map(|text| day(&text, "streakAnchor"))
                .transpose()?,
        },
        error,
        rev: optional_number(item, "rev")?,
    })
}

/// An update of the record: `SET`, `REMOVE` and `ADD` clauses with their
/// names and values, conditioned on the revision read.
#[derive(Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<&'static str>,
    add: Vec<&'static str>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    /// The record's next revision, and the condition that it is still `rev`.
    fn new(rev: Option<u64>) -> (Self, &'static str) {
        let mut update = Self::default();
        update.set("rev", n(rev.unwrap_or(0) + 1));
        let condition = match rev {
            Some(rev) => {
                update.values.insert(":read".into(), n(rev));
                "rev = :read"
            }
            None => "attribute_not_exists(rev)",
        };
        (update, condition)
    }

    fn set(&mut self, name: &str, value: AttributeValue) {
        let placeholder = format!(":{name}");
        let target = match name {
            "error" | "days" => format!("#{name}"),
            _ => name.to_owned(),
        };
        self.set.push(format!("{target} = {placeholder}"));
        self.values.insert(placeholder, value);
    }

    fn expression(&self) -> String {
        let mut clauses = vec![format!("SET {}", self.set.join(", "))];
        if !self.remove.is_empty() {
            clauses.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        if !self.add.is_empty() {
            clauses.push(format!("ADD {}", self.add.join(", ")));
        }
        clauses.join(" ")
    }

    fn into_write(mut self, write: &mut Write, id: &UserId, condition: &str) -> Result<()> {
        let expression = self.expression();
        // `error` and `days` are escaped (a reserved word is refused), and
        // only named when used (an unused name is refused too).
        for name in ["error", "days"] {
            if expression.contains(&format!("#{name}")) {
                self.names.insert(format!("#{name}"), name.to_owned());
            }
        }
        write.update(
            Part::Activity,
            (user_pk(id), ACTIVITY),
            expression,
            self.names,
            self.values,
            Some(condition),
        )?;
        Ok(())
    }
}

fn signed_value(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
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
    async fn given_or_read(
        &self,
        given: Option<Journeyer>,
        id: &UserId,
    ) -> Result<Option<Journeyer>> {
        match given {
            Some(journeyer) => Ok(Some(journeyer)),
            None => self.journeyer(id).await,
        }
    }

    /// Records what a read of the events of `journeyer` (as read by
    /// [`Self::journeyer`]) `fetched`, and sets the profile's numbers from
    /// all the recorded days as of `today`, in one transaction. Nothing is
    /// written when nothing changes. A lost race reads again. `None` when the
    /// profile is gone.
    #[tracing::instrument(skip_all, fields(id = journeyer.record.user.id.as_str()))]
    pub async fn record_activity(
        &self,
        journeyer: Journeyer,
        fetched: &Fetched,
        today: Date,
    ) -> Result<Option<Recorded>> {
        let id = journeyer.record.user.id.clone();
        let mut given = Some(journeyer);
        self.optimistic(|| {
            let given = given.take();
            let id = &id;
            async move {
                let Some(journeyer) = self.given_or_read(given, id).await? else {
                    return Ok(Attempt::Done(None));
                };
                self.record_attempt(journeyer, fetched, today).await
            }
        })
        .await
    }

    async fn record_attempt(
        &self,
        journeyer: Journeyer,
        fetched: &Fetched,
        today: Date,
    ) -> Result<Attempt<Option<Recorded>>> {
        let Journeyer {
            mut record,
            activity,
        } = journeyer;
        let (new_days, etag, newest) = match fetched {
            Fetched::Unchanged => (
                BTreeSet::new(),
                activity.etag.clone(),
                activity.newest.clone(),
            ),
            Fetched::Events { days, etag, newest } => (
                days.difference(&activity.days).copied().collect(),
                etag.clone().or_else(|| activity.etag.clone()),
                newest.clone().max(activity.newest.clone()),
            ),
        };
        let mut days = activity.days.clone();
        days.extend(new_days.iter().copied());
        let joined = utc_day(record.user.date_joined.as_str())
            .ok_or_else(|| StoreError::corrupt("a malformed `dateJoined`"))?;
        let counted = tally(&days, joined, today);
        let (progress, ledger) = settle(&counted, &record.user.progress, &activity.ledger, today);
        let recorded = Recorded {
            new_days: new_days.len() as u64,
            changed: progress != record.user.progress,
            progress,
        };
        let unchanged = new_days.is_empty()
            && etag == activity.etag
            && newest == activity.newest
            && ledger == activity.ledger
            && activity.error.is_none()
            && !recorded.changed;
        if unchanged {
            return Ok(Attempt::Done(Some(recorded)));
        }

        let id = record.user.id.clone();
        let mut write = Write::new(&self.table);
        let read = record.version;
        if recorded.changed {
            record.user.progress = progress;
            record.user.updated_at = Timestamp::now();
            record.version = read + 1;
            write.put(Part::Main, to_item(&record), "version = :v", Some(n(read)))?;
        } else {
            write.check_if(
                Part::Main,
                user_pk(&id),
                PROFILE,
                "version = :v",
                Some(n(read)),
            )?;
        }
        let (mut update, condition) = Update::new(activity.rev);
        if !new_days.is_empty() {
            update.add.push("#days :days");
            update.values.insert(
                ":days".into(),
                AttributeValue::Ss(new_days.iter().map(|day| format_day(*day)).collect()),
            );
        }
        if let Some(etag) = etag {
            update.set("etag", s(etag));
        }
        if let Some(newest) = newest {
            update.set("newest", s(newest));
        }
        let applied = ledger.applied.unwrap_or_default();
        update.set("appliedScore", n(applied.score));
        update.set("appliedStreak", n(applied.streak));
        update.set("appliedDays", n(applied.days));
        update.set("scoreBonus", signed_value(ledger.score_bonus));
        update.set("daysBonus", signed_value(ledger.days_bonus));
        update.set("streakBonus", signed_value(ledger.streak_bonus));
        match ledger.streak_anchor {
            Some(anchor) => update.set("streakAnchor", s(format_day(anchor))),
            None => update.remove.push("streakAnchor"),
        }
        update.remove.extend(["#error", "errorStatus", "errorAt"]);
        update.into_write(&mut write, &id, condition)?;
        Ok(match self.commit(write).await? {
            Outcome::Committed => Attempt::Done(Some(recorded)),
            Outcome::Cancelled(_) => Attempt::Lost,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn records_round_trip_through_their_item() {
        let item = Item::from([
            (PK.to_owned(), s("USER#alice")),
            (SK.to_owned(), s(ACTIVITY)),
            (
                "days".to_owned(),
                AttributeValue::Ss(vec!["2026-03-01".into(), "2026-02-28".into()]),
            ),
            ("etag".to_owned(), s("W/\"abc\"")),
            ("appliedScore".to_owned(), n(20)),
            ("appliedStreak".to_owned(), n(2)),
            ("appliedDays".to_owned(), n(2)),
            ("scoreBonus".to_owned(), signed_value(-5)),
            ("streakAnchor".to_owned(), s("2026-02-28")),
            ("error".to_owned(), s("not found")),
            ("errorStatus".to_owned(), n(404)),
            ("errorAt".to_owned(), s("2026-03-02T10:00:00Z")),
            ("rev".to_owned(), n(7)),
        ]);
        let record = activity_from_item(&item).expect("a record");
        assert_eq!(
            record.days,
            BTreeSet::from([date!(2026 - 02 - 28), date!(2026 - 03 - 01)])
        );
        assert_eq!(record.ledger.score_bonus, -5);
        assert_eq!(record.ledger.days_bonus, 0);
        assert_eq!(record.ledger.streak_anchor, Some(date!(2026 - 02 - 28)));
        assert_eq!(
            record.ledger.applied,
            Some(Shown {
                score: 20,
                streak: 2,
                days: 2
            })
        );
        assert_eq!(record.error.as_ref().and_then(|e| e.status), Some(404));
        assert_eq!(record.rev, Some(7));
        let mut bad = item;
        bad.insert("days".into(), AttributeValue::Ss(vec!["March".into()]));
        assert!(activity_from_item(&bad).is_err());
    }

    #[test]
    fn an_update_escapes_reserved_words() {
        let (mut update, condition) = Update::new(Some(3));
        update.set("error", s("x"));
        update.add.push("#days :days");
        update.remove.push("errorStatus");
        assert_eq!(
            update.expression(),
            "SET rev = :rev, #error = :error REMOVE errorStatus ADD #days :days"
        );
        assert_eq!(condition, "rev = :read");
        assert_eq!(update.values[":rev"], n(4));
        let (_, condition) = Update::new(None);
        assert_eq!(condition, "attribute_not_exists(rev)");
    }
}
