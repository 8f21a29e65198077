//! The activity record of a journeyer (`USER#<id>` / `ACTIVITY`): what the
//! GitHub job keeps beside the profile (the journey's days, the ETags, the
//! ledger of admin corrections, the last failure), and the update that
//! writes it, conditioned on its revision. Read by the job's two aggregates
//! (`store::activity`, `store::journey`).

use crate::domain::Timestamp;
use crate::domain::UserId;
use crate::domain::activity::{Ledger, Shown, format_day, parse_day};
use crate::domain::journey::{DayNumber, Days};
use crate::store::Item;
use crate::store::error::{Result, StoreError};
use crate::store::item::{n, optional_number, optional_string};
use crate::store::keys::{ACTIVITY, user_pk};
use crate::store::schema::SK;
use crate::store::write::{Part, Write};
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
    /// The journey (contract v3): what the journey job has read of the
    /// journeyer's Journey repository (`super::journey`).
    pub journey: JourneyRead,
    /// The stored revision (`None`: no record yet); writes are conditioned on it.
    pub(in crate::store) rev: Option<u64>,
}

/// What the journey job keeps of a journeyer's Journey repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JourneyRead {
    /// The documented days and their dates (each kept from its first count).
    pub days: Days,
    /// The repository (`owner/name`) the days were read from: a profile
    /// that names another starts afresh.
    pub repo: Option<String>,
    /// Its default branch and `created_at`, as last read.
    pub branch: Option<String>,
    pub created_at: Option<String>,
    /// ETags of the repository's metadata and of its default branch's tree.
    pub repo_etag: Option<String>,
    pub tree_etag: Option<String>,
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

pub(in crate::store) fn activity_from_item(item: &Item) -> Result<ActivityRecord> {
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
            at: crate::store::item::timestamp(item, "errorAt")?,
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
        journey: JourneyRead {
            days: match item.get(JOURNEY_DAYS) {
                None => Days::new(),
                Some(AttributeValue::Ss(days)) => days
                    .iter()
                    .map(|text| {
                        parse_journey_day(text).ok_or_else(|| {
                            StoreError::corrupt(format!("a malformed day in `{JOURNEY_DAYS}`"))
                        })
                    })
                    .collect::<Result<_>>()?,
                Some(_) => return Err(StoreError::corrupt("a malformed `journeyDays`")),
            },
            repo: optional_string(item, "journeyRepo"),
            branch: optional_string(item, "branch"),
            created_at: optional_string(item, "repoCreatedAt"),
            repo_etag: optional_string(item, "repoEtag"),
            tree_etag: optional_string(item, "treeEtag"),
        },
        rev: optional_number(item, "rev")?,
    })
}

/// Whether `item` is an activity record the v2 job wrote (its active days,
/// or its events' ETag, and no journey read yet): reconcile upgrades it.
pub(in crate::store) fn is_v2_record(item: &Item) -> bool {
    let activity = matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == ACTIVITY);
    let v2 = item.contains_key("days") || item.contains_key("etag") || item.contains_key("newest");
    activity && v2 && !item.contains_key("journeyRepo")
}

/// The attribute of the journey's days: a string set of `NNN=YYYY-MM-DD`.
pub(in crate::store) const JOURNEY_DAYS: &str = "journeyDays";

/// `007=2026-03-01`: day 7, documented on 2026-03-01.
pub(in crate::store) fn format_journey_day(day: DayNumber, date: Date) -> String {
    format!("{:03}={}", day.get(), format_day(date))
}

pub(in crate::store) fn parse_journey_day(text: &str) -> Option<(DayNumber, Date)> {
    let (day, date) = text.split_once('=')?;
    Some((DayNumber::new(day.parse().ok()?)?, parse_day(date)?))
}

/// An update of the record: `SET`, `REMOVE` and `ADD` clauses with their
/// names and values, conditioned on the revision read.
#[derive(Default)]
pub(in crate::store) struct Update {
    set: Vec<String>,
    pub(in crate::store) remove: Vec<&'static str>,
    pub(in crate::store) add: Vec<&'static str>,
    names: HashMap<String, String>,
    pub(in crate::store) values: HashMap<String, AttributeValue>,
}

impl Update {
    /// The record's next revision, and the condition that it is still `rev`.
    pub(in crate::store) fn new(rev: Option<u64>) -> (Self, &'static str) {
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

    pub(in crate::store) fn set(&mut self, name: &str, value: AttributeValue) {
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

    pub(in crate::store) fn into_write(
        mut self,
        write: &mut Write,
        id: &UserId,
        condition: &str,
    ) -> Result<()> {
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

pub(in crate::store) fn signed_value(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::s;
    use crate::store::schema::{PK, SK};
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
