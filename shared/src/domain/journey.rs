//! The journey: how a journeyer's copy of the Journey Template becomes
//! `daysCompleted`, `githubStreak`, `githubScore`, `consistency`,
//! `lastEntryAt` and the week's day counts. Pure: the journey job reads
//! GitHub, the store keeps the days, and this module says what they come
//! to. The reference, with the same worked examples as the tests below, is
//! `docs/journey.md`.
//!
//! - A day N (1..=100) is documented when `Journey/NNN/Readme.md` on the
//!   default branch is not the template's placeholder page (by blob SHA).
//! - Its date ([`day_date`]) is the UTC date of the push that first brought
//!   the documented page; without a visible push, the earliest committer
//!   date of a commit that changed the file, never before the repository's
//!   `created_at` (and never after today). Commit dates alone are never
//!   trusted: a commit backdated a year but pushed today is dated today.
//! - A day keeps the date it was first counted with ([`Days::record`]).
//! - [`tally`] turns the days into the numbers; the score's admin offset is
//!   [`super::activity::settle`]'s, as before.

use super::activity::Tally;
use super::text::Timestamp;
use super::user::UserId;
use std::collections::BTreeMap;
use std::fmt;
use time::{Date, OffsetDateTime, UtcOffset, Weekday};

/// A journeyer's copy of the Journey Template: `owner/name` on GitHub.
/// Accepted as `owner/name` or `https://github.com/owner/name` (an optional
/// trailing `/`); shown as the URL. The owner is a GitHub login
/// (checked like a [`UserId`]); the name 1-100 of `[A-Za-z0-9._-]`, not `.`
/// or `..`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JourneyRepo {
    owner: UserId,
    name: String,
}

impl JourneyRepo {
    const URL: &'static str = "https://github.com/";

    pub fn parse(raw: &str) -> Result<Self, String> {
        let error = || {
            "must be a GitHub repository: owner/name or https://github.com/owner/name".to_owned()
        };
        let path = raw.strip_prefix(Self::URL).unwrap_or(raw);
        let path = path.strip_suffix('/').unwrap_or(path);
        let (owner, name) = path.split_once('/').ok_or_else(error)?;
        let owner = UserId::parse(owner).map_err(|_| error())?;
        let valid = (1..=100).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && !name.bytes().all(|b| b == b'.');
        if !valid {
            return Err(error());
        }
        Ok(Self {
            owner,
            name: name.to_owned(),
        })
    }

    /// The owner's login.
    pub fn owner(&self) -> &UserId {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `owner/name`, as GitHub's API paths take it (and as it is stored).
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner.as_str(), self.name)
    }

    /// `https://github.com/owner/name`.
    pub fn url(&self) -> String {
        format!("{}{}", Self::URL, self.full_name())
    }

    /// The page of `day` on the default branch `branch`.
    pub fn day_url(&self, branch: &str, day: DayNumber) -> String {
        format!("{}/blob/{branch}/{}", self.url(), day.path())
    }

    /// Whether `owner/name` (as GitHub writes it, any case) is this one.
    pub fn is(&self, full_name: &str) -> bool {
        full_name.eq_ignore_ascii_case(&self.full_name())
    }
}

impl TryFrom<String> for JourneyRepo {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<JourneyRepo> for String {
    fn from(value: JourneyRepo) -> Self {
        value.url()
    }
}

/// The code a journeyer puts in their journey repository's README (the
/// line `hdoc-verification: <code>`) to prove the GitHub account is theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub code: String,
    pub expires_at: Timestamp,
}

impl Verification {
    /// How long a code is valid.
    pub const VALID_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
    /// What precedes the code in the README.
    pub const PREFIX: &'static str = "hdoc-verification:";

    /// Whether `readme` holds the line `hdoc-verification: <code>` (spaces
    /// around either part are allowed, and the line may be in a comment or
    /// a list: only the text after the prefix up to the line's end, less a
    /// trailing `-->`, must be the code).
    pub fn is_in(&self, readme: &str) -> bool {
        readme.lines().any(|line| {
            line.find(Self::PREFIX).is_some_and(|at| {
                let rest = line[at + Self::PREFIX.len()..].trim();
                let rest = rest.strip_suffix("-->").unwrap_or(rest).trim();
                rest == self.code
            })
        })
    }

    /// Whether the code is still valid at `now`.
    pub fn is_valid_at(&self, now: &Timestamp) -> bool {
        *now < self.expires_at
    }
}

/// What the journey has set on a profile: shown on every user answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JourneyStatus {
    /// The owner proved the GitHub account `githubProfile` is theirs.
    pub verified: bool,
    pub consistency: Consistency,
    /// The latest documented day's date.
    pub last_entry: Option<Date>,
}

impl JourneyStatus {
    /// `lastEntryAt` as shown: the date's start, `YYYY-MM-DDT00:00:00Z`.
    pub fn last_entry_at(&self) -> Option<Timestamp> {
        self.last_entry
            .map(|date| Timestamp::from_datetime(date.midnight().assume_utc()))
    }
}

/// The challenge's name, as the badge shows it.
pub const CHALLENGE: &str = "#100DaysOfCloud";

/// `text` with XML's five special characters escaped.
pub fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A README badge (a small SVG, shields-like in shape): the challenge's
/// name on the left; `N/100` and the streak on the right. Every text in it
/// is escaped; widths follow the texts' lengths (about 7 px a character).
pub fn badge(login: &str, days: u64, streak: u64) -> String {
    let left = CHALLENGE;
    let right = format!("{days}/100 · streak {streak}");
    let width = |text: &str| 10 + 7 * text.chars().count();
    let (lw, rw) = (width(left), width(&right));
    let total = lw + rw;
    let label = xml_escape(&format!("{login}: {left} {days}/100, streak {streak}"));
    let (left, right) = (xml_escape(left), xml_escape(&right));
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}">"##,
            r##"<title>{label}</title>"##,
            r##"<rect width="{lw}" height="20" fill="#555"/>"##,
            r##"<rect x="{lw}" width="{rw}" height="20" fill="#f90"/>"##,
            r##"<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">"##,
            r##"<text x="5" y="14">{left}</text>"##,
            r##"<text x="{rx}" y="14">{right}</text>"##,
            r##"</g></svg>"##
        ),
        total = total,
        label = label,
        lw = lw,
        rw = rw,
        rx = lw + 5,
        left = left,
        right = right,
    )
}

/// How many days the challenge has.
pub const DAYS: u8 = 100;

/// One of the challenge's days, 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayNumber(u8);

impl DayNumber {
    /// Day `n`, if `n` is 1..=100.
    pub fn new(n: u64) -> Option<Self> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=DAYS).contains(n))
            .map(Self)
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Every day, 1 to 100.
    pub fn all() -> impl Iterator<Item = Self> {
        (1..=DAYS).map(Self)
    }

    /// The day's page in the repository: `Journey/007/Readme.md`.
    pub fn path(self) -> String {
        format!("Journey/{:03}/Readme.md", self.0)
    }

    /// The day a path names, if it is exactly a day's page
    /// (`Journey/NNN/Readme.md`, three digits, as the template spells it).
    pub fn of_path(path: &str) -> Option<Self> {
        let digits = path.strip_prefix("Journey/")?.strip_suffix("/Readme.md")?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::new(digits.parse().ok()?)
    }
}

impl fmt::Display for DayNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The UTC date of an instant.
pub fn utc_date(at: OffsetDateTime) -> Date {
    at.to_offset(UtcOffset::UTC).date()
}

/// The date a newly documented day is counted on (see the module's rule):
/// the push that first brought it if GitHub shows one; otherwise the
/// earliest commit that changed the file, clamped to the repository's
/// `created_at`; otherwise (GitHub showed neither) `today`, the day it was
/// first seen. Never after `today`: a clock in the future is not trusted
/// either.
pub fn day_date(
    push: Option<OffsetDateTime>,
    earliest_commit: Option<OffsetDateTime>,
    repo_created: OffsetDateTime,
    today: Date,
) -> Date {
    let date = match (push, earliest_commit) {
        (Some(push), _) => utc_date(push),
        (None, Some(commit)) => utc_date(commit.max(repo_created)),
        (None, None) => today,
    };
    date.min(today)
}

/// The documented days and their dates, as counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Days(BTreeMap<DayNumber, Date>);

impl Days {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `day` on `date` unless it is recorded already: a day counted
    /// once keeps its first date. Whether it was new.
    pub fn record(&mut self, day: DayNumber, date: Date) -> bool {
        if self.0.contains_key(&day) {
            return false;
        }
        self.0.insert(day, date);
        true
    }

    pub fn contains(&self, day: DayNumber) -> bool {
        self.0.contains_key(&day)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The days in day order, with their dates.
    pub fn iter(&self) -> impl Iterator<Item = (DayNumber, Date)> + '_ {
        self.0.iter().map(|(day, date)| (*day, *date))
    }
}

impl FromIterator<(DayNumber, Date)> for Days {
    fn from_iter<I: IntoIterator<Item = (DayNumber, Date)>>(iter: I) -> Self {
        let mut days = Self::new();
        for (day, date) in iter {
            days.record(day, date);
        }
        days
    }
}

/// An ISO week (UTC, Monday to Sunday): `2026-W10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u8,
}

impl IsoWeek {
    pub fn of(date: Date) -> Self {
        let (year, week, _) = date.to_iso_week_date();
        Self { year, week }
    }

    /// The week's Monday.
    pub fn monday(self) -> Option<Date> {
        Date::from_iso_week_date(self.year, self.week, Weekday::Monday).ok()
    }

    /// `2026-W10` back into a week.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, week) = text.split_once("-W")?;
        if week.len() != 2 || year.len() != 4 {
            return None;
        }
        let week = Self {
            year: year.parse().ok()?,
            week: week.parse().ok()?,
        };
        week.monday().map(|_| week)
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// Consistency in hundredths (0..=100): shown as `0.87`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Consistency(u8);

impl Consistency {
    pub fn from_hundredths(hundredths: u64) -> Option<Self> {
        u8::try_from(hundredths)
            .ok()
            .filter(|h| *h <= 100)
            .map(Self)
    }

    pub fn hundredths(self) -> u8 {
        self.0
    }

    /// As the API shows it: a number from 0 to 1 with two decimals.
    pub fn value(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

/// What the documented days come to, as of a day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journey {
    /// Documented days, 0 to 100.
    pub days_completed: u64,
    /// Consecutive UTC dates ending today or yesterday, each with at least
    /// one day documented.
    pub streak: u64,
    /// The first date of that run (`None` when the streak is 0).
    pub streak_start: Option<Date>,
    pub consistency: Consistency,
    /// The latest documented day's date.
    pub last_entry: Option<Date>,
    /// Days documented in each ISO week (weeks without any are absent).
    pub weeks: BTreeMap<IsoWeek, u64>,
}

impl Journey {
    /// The tally the admin corrections are settled against
    /// ([`super::activity::settle`]): 10 points a documented day.
    pub fn tally(&self) -> Tally {
        Tally {
            active: self.days_completed,
            streak: self.streak,
            streak_start: self.streak_start,
        }
    }

    /// The days documented in `week`.
    pub fn week_days(&self, week: IsoWeek) -> u64 {
        self.weeks.get(&week).copied().unwrap_or(0)
    }
}

/// The numbers `days` come to on `today` (UTC).
pub fn tally(days: &Days, today: Date) -> Journey {
    let dates: std::collections::BTreeSet<Date> = days.iter().map(|(_, date)| date).collect();
    let days_completed = days.len() as u64;
    let mut journey = Journey {
        days_completed,
        last_entry: dates.last().copied(),
        ..Journey::default()
    };
    for (_, date) in days.iter() {
        *journey.weeks.entry(IsoWeek::of(date)).or_default() += 1;
    }
    let end = [Some(today), today.previous_day()]
        .into_iter()
        .flatten()
        .find(|day| dates.contains(day));
    let mut day = end;
    while let Some(current) = day.filter(|day| dates.contains(day)) {
        journey.streak += 1;
        journey.streak_start = Some(current);
        day = current.previous_day();
    }
    if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
        // Through today, or through the date the hundredth day came once
        // all are documented (a finished journey stops ageing).
        let through = if days_completed >= u64::from(DAYS) {
            *last
        } else {
            today.max(*last)
        };
        let span = u64::try_from((through - *first).whole_days() + 1).unwrap_or(1);
        // Rounded half up to hundredths, at most 1.
        let hundredths = ((200 * days_completed + span) / (2 * span)).min(100);
        journey.consistency = Consistency::from_hundredths(hundredths).unwrap_or_default();
    }
    journey
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn days(list: &[(u64, Date)]) -> Days {
        list.iter()
            .map(|(n, date)| (DayNumber::new(*n).expect("a day"), *date))
            .collect()
    }

    fn run(from: Date, count: u64) -> Days {
        let mut date = from;
        let mut all = Days::new();
        for n in 1..=count {
            all.record(DayNumber::new(n).expect("a day"), date);
            date = date.next_day().expect("a date");
        }
        all
    }

    #[test]
    fn paths_name_days() {
        let seven = DayNumber::new(7).expect("day 7");
        assert_eq!(seven.path(), "Journey/007/Readme.md");
        assert_eq!(DayNumber::of_path("Journey/007/Readme.md"), Some(seven));
        assert_eq!(
            DayNumber::of_path("Journey/100/Readme.md"),
            DayNumber::new(100)
        );
        for other in [
            "Journey/000/Readme.md",
            "Journey/101/Readme.md",
            "Journey/07/Readme.md",
            "Journey/007/README.md",
            "journey/007/Readme.md",
            "Journey/007/Readme.md/x",
        ] {
            assert_eq!(DayNumber::of_path(other), None, "{other}");
        }
        assert_eq!(DayNumber::new(0), None);
        assert_eq!(DayNumber::all().count(), 100);
    }

    // Example 1 of docs/journey.md: honest daily progress.
    #[test]
    fn honest_daily_progress() {
        let today = date!(2026 - 03 - 05);
        let journey = tally(&run(date!(2026 - 03 - 01), 5), today);
        assert_eq!(journey.days_completed, 5);
        assert_eq!(journey.streak, 5);
        assert_eq!(journey.streak_start, Some(date!(2026 - 03 - 01)));
        assert_eq!(journey.consistency.value(), 1.0);
        assert_eq!(journey.last_entry, Some(today));
        assert_eq!(journey.tally().score(), 50);
    }

    // Example 2: gaps. Days on Mar 1, 2, 4 and 8; today Mar 9.
    #[test]
    fn gaps_lower_consistency_and_break_the_streak() {
        let d = days(&[
            (1, date!(2026 - 03 - 01)),
            (2, date!(2026 - 03 - 02)),
            (3, date!(2026 - 03 - 04)),
            (4, date!(2026 - 03 - 08)),
        ]);
        let journey = tally(&d, date!(2026 - 03 - 09));
        assert_eq!(journey.days_completed, 4);
        // Mar 8 is yesterday: a streak of 1.
        assert_eq!(journey.streak, 1);
        // 4 days over Mar 1..=Mar 9, 9 dates: 0.444 -> 0.44.
        assert_eq!(journey.consistency.hundredths(), 44);
        // Two days later, nothing new: no streak, 4 / 11 = 0.36.
        let later = tally(&d, date!(2026 - 03 - 11));
        assert_eq!((later.streak, later.consistency.hundredths()), (0, 36));
    }

    // Example 3: a bulk push of 30 days at once, on one date.
    #[test]
    fn a_bulk_push_is_one_date() {
        let today = date!(2026 - 03 - 10);
        let mut d = Days::new();
        for n in 1..=30 {
            d.record(DayNumber::new(n).expect("a day"), today);
        }
        let journey = tally(&d, today);
        assert_eq!((journey.days_completed, journey.streak), (30, 1));
        // 30 days on one date: capped at 1.
        assert_eq!(journey.consistency.value(), 1.0);
        assert_eq!(journey.tally().score(), 300);
    }

    // Example 4: commits backdated a year but pushed today are dated today.
    #[test]
    fn backdated_commits_pushed_today_are_dated_today() {
        let created = datetime!(2025 - 01 - 01 0:00 UTC);
        let today = date!(2026 - 03 - 10);
        let pushed = datetime!(2026 - 03 - 10 08:00 UTC);
        let backdated = datetime!(2025 - 03 - 10 08:00 UTC);
        assert_eq!(
            day_date(Some(pushed), Some(backdated), created, today),
            today
        );
        // Without a visible push, the commit's date, never before the repository.
        assert_eq!(
            day_date(None, Some(backdated), created, today),
            date!(2025 - 03 - 10)
        );
        assert_eq!(
            day_date(
                None,
                Some(datetime!(2020 - 01 - 01 0:00 UTC)),
                created,
                today
            ),
            date!(2025 - 01 - 01)
        );
        // A date in the future is today.
        assert_eq!(
            day_date(
                None,
                Some(datetime!(2030 - 01 - 01 0:00 UTC)),
                created,
                today
            ),
            today
        );
        // Neither: the day it was first seen.
        assert_eq!(day_date(None, None, created, today), today);
        // UTC dates: 01:30 at +02:00 is the day before.
        assert_eq!(
            day_date(
                Some(datetime!(2026 - 03 - 02 01:30 +2)),
                None,
                created,
                today
            ),
            date!(2026 - 03 - 01)
        );
    }

    // Example 5: a finished journey stops ageing.
    #[test]
    fn consistency_of_a_finished_journey_ends_at_its_hundredth_day() {
        // 100 days over 125 dates (every fifth date skipped).
        let mut d = Days::new();
        let mut date = date!(2026 - 01 - 01);
        let mut n = 1;
        let mut i = 0;
        while n <= 100 {
            i += 1;
            if i % 5 != 0 {
                d.record(DayNumber::new(n).expect("a day"), date);
                n += 1;
            }
            date = date.next_day().expect("a date");
        }
        let last = d.iter().map(|(_, date)| date).max().expect("a date");
        assert_eq!(last, date!(2026 - 05 - 04));
        let at_end = tally(&d, last);
        assert_eq!(at_end.consistency.hundredths(), 81); // 100 / 124
        let much_later = tally(&d, date!(2026 - 12 - 31));
        assert_eq!(much_later.consistency, at_end.consistency);
        assert_eq!(much_later.streak, 0);
        assert_eq!(much_later.days_completed, 100);
    }

    #[test]
    fn no_days_no_numbers() {
        let journey = tally(&Days::new(), date!(2026 - 03 - 01));
        assert_eq!(journey, Journey::default());
        assert_eq!(journey.consistency.value(), 0.0);
    }

    #[test]
    fn a_day_keeps_its_first_date() {
        let mut d = Days::new();
        let one = DayNumber::new(1).expect("a day");
        assert!(d.record(one, date!(2026 - 03 - 01)));
        assert!(!d.record(one, date!(2026 - 03 - 05)));
        assert_eq!(d.iter().next(), Some((one, date!(2026 - 03 - 01))));
    }

    // Example 6: ISO weeks run Monday to Sunday, in UTC.
    #[test]
    fn weeks_are_iso_weeks() {
        // 2026-03-01 is a Sunday (week 9), 2026-03-02 a Monday (week 10).
        let d = days(&[
            (1, date!(2026 - 02 - 28)),
            (2, date!(2026 - 03 - 01)),
            (3, date!(2026 - 03 - 02)),
        ]);
        let journey = tally(&d, date!(2026 - 03 - 02));
        let w9 = IsoWeek::of(date!(2026 - 03 - 01));
        let w10 = IsoWeek::of(date!(2026 - 03 - 02));
        assert_eq!(w9.to_string(), "2026-W09");
        assert_eq!(w10.to_string(), "2026-W10");
        assert_eq!((journey.week_days(w9), journey.week_days(w10)), (2, 1));
        assert_eq!(IsoWeek::parse("2026-W10"), Some(w10));
        assert_eq!(w10.monday(), Some(date!(2026 - 03 - 02)));
        // 2027-01-01 is in 2026's week 53.
        assert_eq!(IsoWeek::of(date!(2027 - 01 - 01)).to_string(), "2026-W53");
        assert_eq!(IsoWeek::parse("2026-W54"), None);
        assert_eq!(IsoWeek::parse("26-W10"), None);
    }

    #[test]
    fn journey_repos_are_owner_and_name() {
        for ok in [
            "alice/100DaysOfCloud",
            "https://github.com/alice/100DaysOfCloud",
            "https://github.com/alice/100DaysOfCloud/",
        ] {
            let repo = JourneyRepo::parse(ok).expect(ok);
            assert_eq!(
                repo.url(),
                "https://github.com/alice/100DaysOfCloud",
                "{ok}"
            );
            assert_eq!(repo.owner(), &UserId::parse("ALICE").expect("id"));
        }
        for bad in [
            "",
            "alice",
            "alice/",
            "/repo",
            "alice/a/b",
            "https://gitlab.com/alice/repo",
            "-alice/repo",
            "alice/..",
            "http://github.com/alice/repo",
            " alice/repo",
            "alice/re po",
            "https://github.com/alice",
        ] {
            assert!(JourneyRepo::parse(bad).is_err(), "{bad}");
        }
        let repo = JourneyRepo::parse("alice/j").expect("repo");
        assert!(repo.is("Alice/J"));
        assert_eq!(
            repo.day_url("main", DayNumber::new(3).expect("day")),
            "https://github.com/alice/j/blob/main/Journey/003/Readme.md"
        );
    }

    #[test]
    fn a_verification_code_is_a_line_of_the_readme() {
        let v = Verification {
            code: "abc123".into(),
            expires_at: Timestamp::parse("2026-03-08T00:00:00Z").expect("time"),
        };
        assert!(v.is_in("# Journey\nhdoc-verification: abc123\n"));
        assert!(v.is_in("<!-- hdoc-verification: abc123 -->"));
        assert!(v.is_in("- hdoc-verification:abc123"));
        assert!(!v.is_in("hdoc-verification: abc1234"));
        assert!(!v.is_in("hdoc-verification: other"));
        assert!(!v.is_in("abc123"));
        let now = Timestamp::parse("2026-03-07T23:59:59Z").expect("time");
        assert!(v.is_valid_at(&now));
        assert!(!v.is_valid_at(&v.expires_at));
    }

    #[test]
    fn the_badge_is_small_valid_svg_with_its_text_escaped() {
        let svg = badge("ada", 42, 7);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("#100DaysOfCloud"));
        assert!(svg.contains("42/100 · streak 7"));
        assert!(svg.len() < 1024);
        assert_eq!(
            xml_escape("<a & 'b'>\""),
            "&lt;a &amp; &apos;b&apos;&gt;&quot;"
        );
        let hostile = badge("<script>", 1, 0);
        assert!(!hostile.contains("<script>"));
    }

    #[test]
    fn consistency_rounds_half_up() {
        // 1 of 8 dates: 0.125 -> 0.13.
        let d = days(&[(1, date!(2026 - 03 - 01))]);
        assert_eq!(
            tally(&d, date!(2026 - 03 - 08)).consistency.hundredths(),
            13
        );
        // 2 of 3: 0.666 -> 0.67.
        let d = days(&[(1, date!(2026 - 03 - 01)), (2, date!(2026 - 03 - 03))]);
        assert_eq!(
            tally(&d, date!(2026 - 03 - 03)).consistency.hundredths(),
            67
        );
    }
}
