//! The journey's records (contract v3): the documented days of a verified
//! journeyer's Journey repository, kept on the journeyer's activity record
//! (`USER#<id>` / `ACTIVITY`, beside the ledger of admin corrections it
//! always had), and the week's leaderboard entries (`USER#<id>` /
//! `WEEK#<ISO week>`, on the ranking index under `WEEKBOARD#<ISO week>`).
//!
//! One transaction writes the new days, the profile's numbers (and so its
//! all-time leaderboard key) and the week's entries, conditioned on the
//! record's revision and the profile's version as read: two runs at once
//! cannot count a day twice (the loser reads again and finds the day
//! recorded), and a day keeps the date it was first counted with. The rule
//! is `crate::domain::journey` (docs/journey.md).

use super::codec::activity::{JOURNEY_DAYS, Update, format_journey_day, signed_value};
use super::codec::user::{from_item, to_item};
use super::error::Result;
use super::item::{n, number, s, string};
use super::keys::{PROFILE, WEEKBOARD_PREFIX, user_pk, week_sk};
use super::read::{Read, key};
use super::retry::Attempt;
use super::schema::{GSI2, PK, SK, TTL};
use super::write::{Outcome, Part, Write};
use super::{Item, Journeyer, Page, Recorded, Repository};
use crate::domain::activity::{format_day, settle};
use crate::domain::journey::{self, DayNumber, IsoWeek, JourneyStatus};
use crate::domain::{Timestamp, UserId, WeekRankedUser};
use crate::page::Window;
use aws_sdk_dynamodb::types::AttributeValue;
use time::{Date, Duration};

/// What the journey job read of a journeyer's repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// `owner/name`, as the profile's `journeyRepo` names it.
    pub repo: String,
    pub branch: String,
    pub created_at: String,
    pub repo_etag: Option<String>,
    pub tree_etag: Option<String>,
    /// The events' first page's ETag and newest `created_at`.
    pub events_etag: Option<String>,
    pub newest_event: Option<String>,
    /// Days found documented that the record lacked, with their dates.
    pub dated: Vec<(DayNumber, Date)>,
}

/// The weeks whose entries a write keeps current: today's and the one
/// before (a day dated last Sunday may be read on Monday). Older weeks are
/// not served; their entries expire.
fn kept_weeks(today: Date) -> [IsoWeek; 2] {
    [
        IsoWeek::of(today),
        IsoWeek::of(today.checked_sub(Duration::days(7)).unwrap_or(today)),
    ]
}

/// A week entry expires three weeks after its week's Monday.
fn week_expiry(week: IsoWeek) -> u64 {
    week.monday()
        .map(|monday| (monday + Duration::days(21)).midnight().assume_utc())
        .map(|at| u64::try_from(at.unix_timestamp()).unwrap_or(0))
        .unwrap_or(0)
}

fn week_item(id: &UserId, week: IsoWeek, days: u64) -> Item {
    Item::from([
        (PK.to_owned(), s(user_pk(id))),
        (SK.to_owned(), s(week_sk(week))),
        (
            GSI2.partition_key.to_owned(),
            s(format!("{WEEKBOARD_PREFIX}{week}")),
        ),
        (
            GSI2.sort_key.to_owned(),
            s(format!("{:020}#{}", u64::MAX - days, id.key())),
        ),
        ("id".to_owned(), s(id.as_str())),
        ("weekDays".to_owned(), n(days)),
        (TTL.to_owned(), n(week_expiry(week))),
    ])
}

impl Repository {
    /// Records what the journey job `found` of `journeyer`'s repository, as
    /// of `today`, and sets the profile's numbers from all the recorded
    /// days, in one transaction with the week's entries. Nothing is
    /// written when nothing changes. Only a verified profile whose
    /// `journeyRepo` is `found.repo` earns anything: otherwise `None`, as
    /// when the profile is gone.
    #[tracing::instrument(skip_all, fields(id = journeyer.record.user.id.as_str()))]
    pub async fn record_journey(
        &self,
        journeyer: Journeyer,
        found: &Found,
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
                self.journey_attempt(journeyer, found, today).await
            }
        })
        .await
    }

    async fn journey_attempt(
        &self,
        journeyer: Journeyer,
        found: &Found,
        today: Date,
    ) -> Result<Attempt<Option<Recorded>>> {
        let Journeyer {
            mut record,
            activity,
        } = journeyer;
        let earns = record.user.journey.verified
            && record
                .user
                .journey_repo
                .as_ref()
                .is_some_and(|repo| repo.is(&found.repo));
        if !earns {
            return Ok(Attempt::Done(None));
        }
        let read = &activity.journey;
        let same_repo = read
            .repo
            .as_deref()
            .is_some_and(|repo| repo.eq_ignore_ascii_case(&found.repo));
        let mut days = if same_repo {
            read.days.clone()
        } else {
            journey::Days::new()
        };
        let mut new_days = 0;
        for (day, date) in &found.dated {
            new_days += u64::from(days.record(*day, *date));
        }
        let counted = journey::tally(&days, today);
        let (progress, ledger) = settle(
            &counted.tally(),
            &record.user.progress,
            &activity.ledger,
            today,
        );
        let status = JourneyStatus {
            verified: true,
            consistency: counted.consistency,
            last_entry: counted.last_entry,
        };
        let changed = progress != record.user.progress || status != record.user.journey;
        let recorded = Recorded {
            new_days,
            changed,
            progress,
        };
        let unchanged = new_days == 0
            && same_repo
            && read.branch.as_deref() == Some(found.branch.as_str())
            && read.created_at.as_deref() == Some(found.created_at.as_str())
            && read.repo_etag == found.repo_etag
            && read.tree_etag == found.tree_etag
            && (found.events_etag.is_none() || activity.etag == found.events_etag)
            && (found.newest_event.is_none() || activity.newest == found.newest_event)
            && ledger == activity.ledger
            && activity.error.is_none()
            && !changed;
        if unchanged {
            return Ok(Attempt::Done(Some(recorded)));
        }

        let id = record.user.id.clone();
        let mut write = Write::new(&self.table);
        let version = record.version;
        if changed {
            record.user.progress = progress;
            record.user.journey = status;
            record.user.updated_at = Timestamp::now();
            record.version = version + 1;
            write.put(
                Part::Main,
                to_item(&record),
                "version = :v",
                Some(n(version)),
            )?;
        } else {
            write.check_if(
                Part::Main,
                user_pk(&id),
                PROFILE,
                "version = :v",
                Some(n(version)),
            )?;
        }
        let (mut update, condition) = Update::new(activity.rev);
        if days.is_empty() {
            update.remove.push(JOURNEY_DAYS);
        } else {
            update.set(
                JOURNEY_DAYS,
                AttributeValue::Ss(
                    days.iter()
                        .map(|(day, date)| format_journey_day(day, date))
                        .collect(),
                ),
            );
        }
        update.set("journeyRepo", s(&found.repo));
        update.set("branch", s(&found.branch));
        update.set("repoCreatedAt", s(&found.created_at));
        for (name, value, attribute) in [
            ("repoEtag", &found.repo_etag, "repoEtag"),
            ("treeEtag", &found.tree_etag, "treeEtag"),
        ] {
            match value {
                Some(value) => update.set(name, s(value)),
                None => update.remove.push(attribute),
            }
        }
        if let Some(etag) = &found.events_etag {
            update.set("etag", s(etag));
        }
        if let Some(newest) = found.newest_event.clone().max(activity.newest.clone()) {
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
        for week in kept_weeks(today) {
            match counted.week_days(week) {
                0 => write.delete_any(Part::Week, user_pk(&id), &week_sk(week))?,
                days => write.put_any(Part::Week, week_item(&id, week, days))?,
            };
        }
        Ok(match self.commit(write).await? {
            Outcome::Committed => Attempt::Done(Some(recorded)),
            Outcome::Cancelled(_) => Attempt::Lost,
        })
    }

    /// The week's leaderboard: most days documented in `week` first, ties
    /// by id. One Query of the week's partition of the ranking index, then
    /// one `BatchGetItem` of the page's profiles: O(limit), whatever the
    /// number of users. An entry whose profile is gone (being deleted) is
    /// left out.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn week_scores(&self, week: IsoWeek, page: &Window) -> Result<Page<WeekRankedUser>> {
        let partition = format!("{WEEKBOARD_PREFIX}{week}");
        let found = self.query_page(GSI2, &partition, true, page).await?;
        let entries: Vec<(String, u64)> = found
            .items
            .iter()
            .map(|item| Ok((string(item, PK)?, number(item, "weekDays")?)))
            .collect::<Result<_>>()?;
        let keys = entries
            .iter()
            .map(|(pk, _)| key(pk.clone(), PROFILE))
            .collect();
        let profiles = if entries.is_empty() {
            Vec::new()
        } else {
            self.batch_get(keys, Read::Eventual).await?
        };
        let mut by_pk = std::collections::HashMap::new();
        for item in profiles {
            if item.contains_key("deletedAt") {
                continue;
            }
            by_pk.insert(string(&item, PK)?, from_item(&item)?.user);
        }
        let mut rank = page.offset();
        let items = entries
            .into_iter()
            .filter_map(|(pk, week_days)| {
                let user = by_pk.remove(&pk)?;
                rank += 1;
                Some(WeekRankedUser {
                    rank,
                    user,
                    week_days,
                })
            })
            .collect();
        Ok(Page {
            items,
            next: found.next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn week_entries_sort_most_days_first_and_expire() {
        let id = UserId::parse("Alice").expect("id");
        let week = IsoWeek::of(date!(2026 - 03 - 04));
        let item = week_item(&id, week, 3);
        assert_eq!(item[SK], s("WEEK#2026-W10"));
        assert_eq!(item[GSI2.partition_key], s("WEEKBOARD#2026-W10"));
        let more = week_item(&id, week, 4);
        assert!(string(&more, GSI2.sort_key).ok() < string(&item, GSI2.sort_key).ok());
        // Monday 2026-03-02 + 21 days.
        assert_eq!(item[TTL], n(1_774_224_000));
        assert_eq!(
            kept_weeks(date!(2026 - 03 - 02)).map(|w| w.to_string()),
            ["2026-W10".to_owned(), "2026-W09".to_owned()]
        );
    }
}
