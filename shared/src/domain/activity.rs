//! Scores from days: v2's rule that turns a set of days into
//! `daysCompleted`, `githubStreak` and `githubScore`, and how an admin's
//! correction of those numbers lives on beside it ([`settle`]). Since v3 the
//! days are the journey's documented ones (`domain::journey`, which settles
//! its numbers with this ledger); which GitHub events made a day active in v2
//! is history, kept in `docs/activity.md`. The v2 rule, as it stood:
//!
//! - An active day is a UTC day with at least one public contribution event.
//! - Only days on or after the UTC day of `dateJoined` count: the challenge
//!   starts when the journeyer joins.
//! - `daysCompleted` is how many such days there are, at most 100;
//!   `githubScore` is 10 points for each (not capped); `githubStreak` is the
//!   run of consecutive such days that ends today, or yesterday when today has
//!   no activity yet (0 otherwise).
//! - An admin's correction is kept as a difference (a bonus, which may be
//!   negative) added to every later computation; a streak's bonus lapses when
//!   that streak breaks. See [`settle`].

use super::user::{Count, DaysCompleted, MAX_SCORE, Progress};
use std::collections::BTreeSet;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Points an active day is worth.
pub const POINTS_PER_DAY: u64 = 10;

/// A day as stored and shown: `YYYY-MM-DD`.
pub fn format_day(day: Date) -> String {
    day.format(format_description!("[year]-[month]-[day]"))
        .expect("a date formats")
}

/// A day stored as `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// Today in UTC.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// What the recorded days come to, before any correction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Active days on or after the day the journeyer joined.
    pub active: u64,
    /// The run of consecutive active days ending today or yesterday.
    pub streak: u64,
    /// The first day of that run (`None` when the streak is 0).
    pub streak_start: Option<Date>,
}

impl Tally {
    pub fn score(&self) -> u64 {
        self.active.saturating_mul(POINTS_PER_DAY).min(MAX_SCORE)
    }

    pub fn days_completed(&self) -> u64 {
        self.active.min(u64::from(DaysCompleted::MAX))
    }
}

/// Counts `days` for a journeyer who joined on `joined`, as of `today`.
pub fn tally(days: &BTreeSet<Date>, joined: Date, today: Date) -> Tally {
    let active = days.range(joined..).count() as u64;
    let counts = |day: &Date| *day >= joined && days.contains(day);
    let end = [Some(today), today.previous_day()]
        .into_iter()
        .flatten()
        .find(counts);
    let mut tally = Tally {
        active,
        ..Tally::default()
    };
    let mut day = end;
    while let Some(current) = day.filter(counts) {
        tally.streak += 1;
        tally.streak_start = Some(current);
        day = current.previous_day();
    }
    tally
}

/// The three numbers the job owns, as shown on the profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub score: u64,
    pub streak: u64,
    pub days: u64,
}

impl Shown {
    fn of(progress: &Progress) -> Self {
        Self {
            score: progress.github_score.get(),
            streak: progress.github_streak.get(),
            days: progress.days_completed.get(),
        }
    }
}

/// What the job keeps beside the days: the numbers it last wrote, and the
/// corrections it has learned from admins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// What the job last wrote on the profile (`None`: it never did).
    pub applied: Option<Shown>,
    /// Added to the computed `githubScore`.
    pub score_bonus: i64,
    /// Added to the computed `daysCompleted`.
    pub days_bonus: i64,
    /// Added to the computed `githubStreak` while `streak_anchor` holds.
    pub streak_bonus: i64,
    /// The streak the bonus belongs to: the first day of the run it was
    /// learned on (or, learned when there was no run, the day after the
    /// correction: a run that starts by then continues it).
    pub streak_anchor: Option<Date>,
}

fn difference(now: u64, before: u64) -> i64 {
    i64::try_from(now)
        .unwrap_or(i64::MAX)
        .saturating_sub(i64::try_from(before).unwrap_or(i64::MAX))
}

fn plus(value: u64, bonus: i64, max: u64) -> u64 {
    let value = i64::try_from(value)
        .unwrap_or(i64::MAX)
        .saturating_add(bonus);
    u64::try_from(value.max(0)).unwrap_or(0).min(max)
}

/// The profile's new progress and the job's new ledger, from what the days
/// come to (`tally`, as of `today`), the profile as it is (`progress`) and
/// the ledger as stored.
///
/// 1. **Learn.** A number on the profile that differs from what the job last
///    wrote was set by an admin since: the difference joins that number's
///    bonus. A profile the job meets for the first time keeps the numbers it
///    has (imported from the old site, or set by an admin), except zeros: a
///    non-zero number becomes the computed one plus a bonus.
/// 2. **Lapse.** A streak bonus holds while its streak goes on: while the
///    current run starts on or before its anchor (or, with no run today or
///    yesterday, until the anchor's day has passed).
/// 3. **Apply.** Each number is the computed one plus its bonus, kept within
///    its bounds (`githubScore + twitterScore` at most the largest score).
pub fn settle(
    tally: &Tally,
    progress: &Progress,
    ledger: &Ledger,
    today: Date,
) -> (Progress, Ledger) {
    let computed = Shown {
        score: tally.score(),
        streak: tally.streak,
        days: tally.days_completed(),
    };
    let current = Shown::of(progress);
    let baseline = ledger.applied.unwrap_or(Shown {
        score: if current.score == 0 {
            0
        } else {
            computed.score
        },
        streak: if current.streak == 0 {
            0
        } else {
            computed.streak
        },
        days: if current.days == 0 { 0 } else { computed.days },
    });
    let mut next = *ledger;
    next.score_bonus = next
        .score_bonus
        .saturating_add(difference(current.score, baseline.score));
    next.days_bonus = next
        .days_bonus
        .saturating_add(difference(current.days, baseline.days));
    if current.streak != baseline.streak {
        next.streak_bonus = next
            .streak_bonus
            .saturating_add(difference(current.streak, baseline.streak));
        next.streak_anchor = Some(
            tally
                .streak_start
                .or_else(|| today.next_day())
                .unwrap_or(today),
        );
    }
    let holds = next
        .streak_anchor
        .is_some_and(|anchor| match tally.streak_start {
            Some(start) => start <= anchor,
            None => today <= anchor,
        });
    if !holds || next.streak_bonus == 0 {
        next.streak_bonus = 0;
        next.streak_anchor = None;
    }
    let shown = Shown {
        score: plus(
            computed.score,
            next.score_bonus,
            MAX_SCORE - progress.twitter_score.get(),
        ),
        streak: plus(computed.streak, next.streak_bonus, MAX_SCORE),
        days: plus(
            computed.days,
            next.days_bonus,
            u64::from(DaysCompleted::MAX),
        ),
    };
    next.applied = Some(shown);
    let mut settled = *progress;
    settled.github_score = Count::try_from(shown.score).unwrap_or(progress.github_score);
    settled.github_streak = Count::try_from(shown.streak).unwrap_or(progress.github_streak);
    settled.days_completed = DaysCompleted::try_from(shown.days).unwrap_or(progress.days_completed);
    (settled, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn days(list: &[Date]) -> BTreeSet<Date> {
        list.iter().copied().collect()
    }

    const JOINED: Date = date!(2026 - 01 - 01);

    #[test]
    fn days_are_written_and_read_as_dates() {
        assert_eq!(format_day(date!(2026 - 03 - 02)), "2026-03-02");
        assert_eq!(parse_day("2026-03-02"), Some(date!(2026 - 03 - 02)));
        assert_eq!(parse_day("2026-3-2"), None);
    }

    #[test]
    fn a_streak_runs_across_a_month_boundary() {
        let active = days(&[
            date!(2026 - 02 - 27),
            date!(2026 - 02 - 28),
            date!(2026 - 03 - 01),
            date!(2026 - 03 - 02),
        ]);
        let tally = tally(&active, JOINED, date!(2026 - 03 - 02));
        assert_eq!(tally.active, 4);
        assert_eq!(tally.streak, 4);
        assert_eq!(tally.streak_start, Some(date!(2026 - 02 - 27)));
        assert_eq!(tally.score(), 40);
    }

    #[test]
    fn a_streak_ends_today_or_yesterday_and_a_gap_breaks_it() {
        let active = days(&[
            date!(2026 - 02 - 20),
            date!(2026 - 02 - 22),
            date!(2026 - 02 - 23),
        ]);
        // Today is not active yet: the run ending yesterday counts.
        assert_eq!(tally(&active, JOINED, date!(2026 - 02 - 24)).streak, 2);
        assert_eq!(tally(&active, JOINED, date!(2026 - 02 - 23)).streak, 2);
        // Two days without activity: no streak; the days still count.
        let broken = tally(&active, JOINED, date!(2026 - 02 - 25));
        assert_eq!((broken.active, broken.streak), (3, 0));
        assert_eq!(broken.streak_start, None);
    }

    #[test]
    fn only_days_since_joining_count_and_days_completed_stops_at_100() {
        let active = days(&[
            date!(2026 - 02 - 26),
            date!(2026 - 02 - 27),
            date!(2026 - 02 - 28),
        ]);
        let tally_ = tally(&active, date!(2026 - 02 - 27), date!(2026 - 02 - 28));
        assert_eq!((tally_.active, tally_.streak), (2, 2));
        let mut many = BTreeSet::new();
        let mut day = date!(2025 - 01 - 01);
        for _ in 0..150 {
            many.insert(day);
            day = day.next_day().expect("a day");
        }
        let last = day.previous_day().expect("a day");
        let tally = tally(&many, date!(2025 - 01 - 01), last);
        assert_eq!((tally.active, tally.streak), (150, 150));
        assert_eq!((tally.days_completed(), tally.score()), (100, 1500));
    }

    fn progress(score: u64, streak: u64, days: u64) -> Progress {
        Progress {
            github_score: score.try_into().expect("score"),
            github_streak: streak.try_into().expect("streak"),
            days_completed: days.try_into().expect("days"),
            ..Progress::default()
        }
    }

    fn shown(p: &Progress) -> (u64, u64, u64) {
        (
            p.github_score.get(),
            p.github_streak.get(),
            p.days_completed.get(),
        )
    }

    #[test]
    fn a_new_profile_takes_the_computed_numbers() {
        let tally = Tally {
            active: 3,
            streak: 2,
            streak_start: Some(date!(2026 - 03 - 01)),
        };
        let (p, ledger) = settle(
            &tally,
            &Progress::default(),
            &Ledger::default(),
            date!(2026 - 03 - 02),
        );
        assert_eq!(shown(&p), (30, 2, 3));
        assert_eq!(
            ledger.applied,
            Some(Shown {
                score: 30,
                streak: 2,
                days: 3
            })
        );
        assert_eq!((ledger.score_bonus, ledger.streak_bonus), (0, 0));
        // Settling again changes nothing.
        let (again, same) = settle(&tally, &p, &ledger, date!(2026 - 03 - 02));
        assert_eq!((again, same), (p, ledger));
    }

    #[test]
    fn an_admins_correction_is_kept_and_new_days_add_to_it() {
        let today = date!(2026 - 03 - 02);
        let tally1 = Tally {
            active: 3,
            streak: 3,
            streak_start: Some(date!(2026 - 02 - 28)),
        };
        let (p, ledger) = settle(&tally1, &Progress::default(), &Ledger::default(), today);
        // The admin adds 50 points and 2 days (work in a private repository).
        let corrected = progress(80, 3, 5);
        let (p2, ledger2) = settle(&tally1, &corrected, &ledger, today);
        assert_eq!(shown(&p2), (80, 3, 5));
        assert_eq!((ledger2.score_bonus, ledger2.days_bonus), (50, 2));
        // A new day: 10 more, one more day.
        let tally2 = Tally {
            active: 4,
            streak: 4,
            streak_start: Some(date!(2026 - 02 - 28)),
        };
        let (p3, _) = settle(&tally2, &p2, &ledger2, date!(2026 - 03 - 03));
        assert_eq!(shown(&p3), (90, 4, 6));
        assert_ne!(p, p3);
    }

    #[test]
    fn a_streak_correction_lapses_when_the_streak_breaks() {
        let today = date!(2026 - 03 - 02);
        let run = Tally {
            active: 2,
            streak: 2,
            streak_start: Some(date!(2026 - 03 - 01)),
        };
        let (_, ledger) = settle(&run, &Progress::default(), &Ledger::default(), today);
        // GitHub missed a day of a longer streak: the admin says 10.
        let (p, ledger) = settle(&run, &progress(20, 10, 2), &ledger, today);
        assert_eq!(shown(&p).1, 10);
        assert_eq!(ledger.streak_anchor, Some(date!(2026 - 03 - 01)));
        // The streak goes on: 11.
        let longer = Tally {
            active: 3,
            streak: 3,
            streak_start: Some(date!(2026 - 03 - 01)),
        };
        let (p, ledger) = settle(&longer, &p, &ledger, date!(2026 - 03 - 03));
        assert_eq!(shown(&p), (30, 11, 3));
        // It breaks: back to what the days say, and a new run starts from 1.
        let broken = Tally {
            active: 3,
            streak: 0,
            streak_start: None,
        };
        let (p, ledger) = settle(&broken, &p, &ledger, date!(2026 - 03 - 05));
        assert_eq!(shown(&p), (30, 0, 3));
        assert_eq!((ledger.streak_bonus, ledger.streak_anchor), (0, None));
        let fresh = Tally {
            active: 4,
            streak: 1,
            streak_start: Some(date!(2026 - 03 - 06)),
        };
        let (p, _) = settle(&fresh, &p, &ledger, date!(2026 - 03 - 06));
        assert_eq!(shown(&p), (40, 1, 4));
    }

    #[test]
    fn a_streak_set_when_there_is_none_holds_until_the_next_day_is_missed() {
        let today = date!(2026 - 03 - 02);
        let none = Tally {
            active: 0,
            streak: 0,
            streak_start: None,
        };
        let (_, ledger) = settle(&none, &Progress::default(), &Ledger::default(), today);
        let (p, ledger) = settle(&none, &progress(0, 5, 0), &ledger, today);
        assert_eq!(shown(&p).1, 5);
        // Active the next day: the streak goes on from the admin's 5.
        let next = Tally {
            active: 1,
            streak: 1,
            streak_start: Some(date!(2026 - 03 - 03)),
        };
        assert_eq!(
            shown(&settle(&next, &p, &ledger, date!(2026 - 03 - 03)).0),
            (10, 6, 1)
        );
        // Not active by the end of the next day: it lapses.
        let (lapsed, _) = settle(&none, &p, &ledger, date!(2026 - 03 - 04));
        assert_eq!(shown(&lapsed).1, 0);
    }

    #[test]
    fn numbers_met_for_the_first_time_stand_and_zeros_are_computed() {
        let today = date!(2026 - 03 - 02);
        let tally = Tally {
            active: 4,
            streak: 4,
            streak_start: Some(date!(2026 - 02 - 27)),
        };
        // Imported with a score from the old site and no days.
        let (p, ledger) = settle(&tally, &progress(500, 0, 0), &Ledger::default(), today);
        assert_eq!(shown(&p), (500, 4, 4));
        assert_eq!(ledger.score_bonus, 460);
        let more = Tally {
            active: 5,
            streak: 5,
            streak_start: Some(date!(2026 - 02 - 27)),
        };
        let (p, _) = settle(&more, &p, &ledger, date!(2026 - 03 - 03));
        assert_eq!(shown(&p), (510, 5, 5));
    }

    #[test]
    fn a_correction_below_zero_and_the_bounds_hold() {
        let today = date!(2026 - 03 - 02);
        let tally = Tally {
            active: 2,
            streak: 2,
            streak_start: Some(date!(2026 - 03 - 01)),
        };
        let (_, ledger) = settle(&tally, &Progress::default(), &Ledger::default(), today);
        // Disqualified: the admin sets everything to 0.
        let (p, ledger) = settle(&tally, &progress(0, 0, 0), &ledger, today);
        assert_eq!(shown(&p), (0, 0, 0));
        assert_eq!((ledger.score_bonus, ledger.days_bonus), (-20, -2));
        // The admin's days, past 100 with the computed ones, stop at 100.
        let (p, ledger) = settle(&tally, &progress(0, 0, 100), &ledger, today);
        let many = Tally {
            active: 50,
            streak: 2,
            streak_start: Some(date!(2026 - 03 - 01)),
        };
        let (p, _) = settle(&many, &p, &ledger, today);
        assert_eq!(shown(&p).2, 100);
        // The total stays within the largest score.
        let mut top = progress(0, 0, 0);
        top.twitter_score = MAX_SCORE.try_into().expect("score");
        let (p, _) = settle(&many, &top, &Ledger::default(), today);
        assert_eq!(p.github_score.get(), 0);
    }
}
