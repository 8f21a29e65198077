//! Importing the community's existing data (`hdoc-local import`, and
//! `hdoc-local --demo`): files shaped like the front end's `data/users.json`
//! (`{"users": [...]}`) and `data/articles.json` (`{"articles": [...]}`), and
//! likewise `{"reviews": [...]}` and `{"ratings": [...]}`. See `docs/import.md`.
//!
//! Every row is read as the API reads a body, field by field: a row missing a
//! required field, or with an invalid id, is refused and nothing of it is
//! written; an invalid optional field is dropped and the row imported. Rows
//! are written through the store's own transactions, so every aggregate
//! (tag counts, rating summaries, the leaderboard, the user lists) is exact
//! after each one. Nothing that exists is overwritten: a row whose id is
//! taken is left as it is and counted as present, so running an import again,
//! or again after it was interrupted, writes only what is missing.

use futures_util::{StreamExt, stream};
use hdoc_shared::domain::article::{Body, Title};
use hdoc_shared::domain::user::MAX_SCORE;
use hdoc_shared::domain::{
    Article, ArticleSummary, CallerSub, Count, DaysCompleted, Progress, Review, ReviewId, Slug,
    Stars, Subject, Tag, Tags, Timestamp, User, UserId,
};
use hdoc_shared::store::{Precondition, Repository, StoreError};
use hdoc_shared::telemetry::emf;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// How many articles, reviews or ratings are written at once.
const IN_FLIGHT: usize = 8;

/// What a file holds, from its top-level key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Users,
    Articles,
    Reviews,
    Ratings,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Users, Kind::Articles, Kind::Reviews, Kind::Ratings];

    fn key(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Articles => "articles",
            Kind::Reviews => "reviews",
            Kind::Ratings => "ratings",
        }
    }

    /// Columns of the front end's files that have no place here: its own row
    /// keys and flags. Ignored without a word; any other unknown field is
    /// reported as dropped.
    fn ignored(self) -> &'static [&'static str] {
        match self {
            Kind::Users => &["id", "status"],
            Kind::Articles => &[],
            Kind::Reviews | Kind::Ratings => &[],
        }
    }
}

/// One file to import: its name (for the report) and its rows.
#[derive(Clone, Debug)]
pub struct Document {
    pub name: String,
    pub kind: Kind,
    pub rows: Vec<Value>,
}

impl Document {
    /// Reads a file's JSON: an object with one of the keys `users`,
    /// `articles`, `reviews`, `ratings` holding an array of rows.
    pub fn parse(name: &str, json: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(json).map_err(|err| format!("{name}: not JSON: {err}"))?;
        let Value::Object(mut top) = value else {
            return Err(format!("{name}: must be a JSON object"));
        };
        let kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|kind| top.contains_key(kind.key()))
            .collect();
        let [kind] = kinds[..] else {
            return Err(format!(
                "{name}: must have exactly one of the keys users, articles, reviews, ratings"
            ));
        };
        match top.remove(kind.key()) {
            Some(Value::Array(rows)) => Ok(Self {
                name: name.to_owned(),
                kind,
                rows,
            }),
            _ => Err(format!("{name}: `{}` must be an array", kind.key())),
        }
    }
}

/// A field of a row that was refused (the row) or dropped (the field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The row's position in its file, from 0.
    pub index: usize,
    pub field: String,
    pub reason: String,
}

/// What became of one file.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub file: String,
    pub kind: Option<Kind>,
    pub rows: usize,
    /// Rows written by this run.
    pub imported: usize,
    /// Rows whose id was taken already (by an earlier import, or through
    /// the API): left as they are.
    pub present: usize,
    /// Rows not written, with the field that decided it.
    pub refused: Vec<Problem>,
    /// Invalid optional fields left out of rows that were imported.
    pub dropped: Vec<Problem>,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub files: Vec<FileReport>,
    /// Authors of imported articles and reviews who had no profile and were
    /// given one made from their id (`name` = id).
    pub made_profiles: Vec<String>,
    pub seconds: f64,
}

impl Report {
    /// Whether the run wrote anything at all.
    pub fn changed(&self) -> bool {
        !self.made_profiles.is_empty() || self.files.iter().any(|file| file.imported > 0)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for file in &self.files {
            writeln!(
                f,
                "{}: {} rows: {} imported, {} already present, {} refused, {} fields dropped",
                file.file,
                file.rows,
                file.imported,
                file.present,
                file.refused.len(),
                file.dropped.len()
            )?;
            for (what, problems) in [("refused", &file.refused), ("dropped", &file.dropped)] {
                for p in problems {
                    writeln!(f, "  row {} {what}: {}: {}", p.index, p.field, p.reason)?;
                }
            }
        }
        if !self.made_profiles.is_empty() {
            writeln!(
                f,
                "profiles made for authors without one ({}): {}",
                self.made_profiles.len(),
                self.made_profiles.join(", ")
            )?;
        }
        if !self.changed() {
            writeln!(f, "nothing changed: every row was imported before")?;
        }
        write!(f, "took {:.2} s", self.seconds)
    }
}

/// A row being read: its fields, and what was dropped from it.
struct Row<'a> {
    index: usize,
    kind: Kind,
    fields: &'a Map<String, Value>,
    used: HashSet<&'static str>,
    dropped: Vec<Problem>,
}

impl<'a> Row<'a> {
    fn new(index: usize, kind: Kind, value: &'a Value) -> Result<Self, Problem> {
        match value {
            Value::Object(fields) => Ok(Self {
                index,
                kind,
                fields,
                used: HashSet::new(),
                dropped: Vec::new(),
            }),
            _ => Err(problem(index, "", "a row must be a JSON object")),
        }
    }

    fn value(&mut self, name: &'static str) -> Option<&'a Value> {
        self.used.insert(name);
        self.fields.get(name).filter(|value| !value.is_null())
    }

    fn required<T: DeserializeOwned>(&mut self, name: &'static str) -> Result<T, Problem> {
        let value = self
            .value(name)
            .ok_or_else(|| problem(self.index, name, "is required"))?;
        serde_json::from_value(value.clone()).map_err(|err| problem(self.index, name, err))
    }

    fn optional<T: DeserializeOwned>(&mut self, name: &'static str) -> Option<T> {
        let value = self.value(name)?;
        serde_json::from_value(value.clone())
            .map_err(|err| self.dropped.push(problem(self.index, name, err)))
            .ok()
    }

    fn timestamp(&mut self, name: &'static str) -> Option<Timestamp> {
        let raw: String = self.optional(name)?;
        let at = Timestamp::parse(&raw);
        if at.is_none() {
            let reason = "must be an RFC 3339 time, such as 2020-08-08T21:01:23Z";
            self.dropped.push(problem(self.index, name, reason));
        }
        at
    }

    /// The dropped fields, and every field that is not one of this kind's.
    fn finish(mut self) -> Vec<Problem> {
        for name in self.fields.keys() {
            let known = self.used.contains(name.as_str()) || self.kind.ignored().contains(&&**name);
            if !known {
                let reason = format!("not a field of {}; not kept", self.kind.key());
                self.dropped.push(problem(self.index, name, reason));
            }
        }
        self.dropped
    }
}

fn problem(index: usize, field: &str, reason: impl ToString) -> Problem {
    Problem {
        index,
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// A profile from a row of `users`. Its id is `githubProfile`, as in the
/// API; the front end's own row key `id` is not kept.
fn user_row(row: &mut Row, now: &Timestamp) -> Result<User, Problem> {
    let id: UserId = row.required("githubProfile")?;
    let name = row.required("name")?;
    let mut progress = Progress {
        github_score: row.optional("githubScore").unwrap_or_default(),
        github_streak: row.optional("githubStreak").unwrap_or_default(),
        twitter_score: row.optional("twitterScore").unwrap_or_default(),
        twitter_streak: row.optional("twitterStreak").unwrap_or_default(),
        days_completed: row
            .optional::<DaysCompleted>("daysCompleted")
            .unwrap_or_default(),
    };
    if progress
        .github_score
        .get()
        .checked_add(progress.twitter_score.get())
        .is_none_or(|total| total > MAX_SCORE)
    {
        progress.twitter_score = Count::default();
        let reason = "githubScore + twitterScore must stay within 2^53 - 1";
        row.dropped.push(problem(row.index, "twitterScore", reason));
    }
    let date_joined = row.timestamp("dateJoined").unwrap_or_else(|| now.clone());
    Ok(User {
        id,
        name,
        twitter_profile: row.optional("twitterProfile"),
        linkedin_profile: row.optional("linkedinProfile"),
        bio: row.optional("bio"),
        avatar_image: row.optional("avatarImage"),
        progress,
        updated_at: date_joined.clone(),
        date_joined,
        journey_repo: None,
        blog_url: None,
        journey: Default::default(),
    })
}

/// Tags from a row: the front end's one string (`"open system"`) or a list,
/// each normalized as the API does. An invalid one is dropped alone.
fn tags_row(row: &mut Row) -> Tags {
    let raw: Vec<Value> = match row.value("tags") {
        None => Vec::new(),
        Some(Value::Array(tags)) => tags.clone(),
        Some(one) => vec![one.clone()],
    };
    let mut tags: Vec<Tag> = Vec::new();
    for (i, value) in raw.iter().enumerate() {
        let field = format!("tags[{i}]");
        match value.as_str().map(Tag::parse) {
            Some(Ok(tag)) if !tags.contains(&tag) => tags.push(tag),
            Some(Ok(_)) => {}
            Some(Err(reason)) => row.dropped.push(problem(row.index, &field, reason)),
            None => row
                .dropped
                .push(problem(row.index, &field, "must be a string")),
        }
    }
    let count = tags.len();
    tags.try_into().unwrap_or_else(|_| {
        let reason = format!("at most 10 tags, not {count}");
        row.dropped.push(problem(row.index, "tags", reason));
        Tags::default()
    })
}

/// An article from a row of `articles`. Its slug is `id` when that is a
/// slug; otherwise (the front end's numbers) it comes from the title, as
/// the API makes it, with `-2`, `-3`... for titles met before in the import.
fn article_row(
    row: &mut Row,
    now: &Timestamp,
    slugs: &mut HashMap<Slug, usize>,
) -> Result<Article, Problem> {
    let given = match row.value("id") {
        Some(Value::String(id)) => {
            Some(Slug::parse(id).map_err(|reason| problem(row.index, "id", reason))?)
        }
        _ => None,
    };
    let title: Title = row.required("title")?;
    let author: UserId = row.required("author")?;
    let slug = match given {
        Some(slug) => {
            if slugs.insert(slug.clone(), 1).is_some() {
                return Err(problem(row.index, "id", "another row has this id"));
            }
            slug
        }
        None => {
            let base = Slug::from_title(title.as_str());
            let mut slug = base.clone();
            let mut n = 1;
            while slugs.contains_key(&slug) {
                n += 1;
                slug = base.with_suffix(&n.to_string());
            }
            slugs.insert(slug.clone(), 1);
            slug
        }
    };
    let created_at = row.timestamp("createdAt").unwrap_or_else(|| now.clone());
    Ok(Article {
        summary: ArticleSummary {
            slug,
            title,
            subtitle: row.optional("subtitle").unwrap_or_default(),
            tags: tags_row(row),
            author,
            image: row.optional("image"),
            updated_at: created_at.clone(),
            created_at,
        },
        body: row.optional::<Body>("body").unwrap_or_default(),
    })
}

/// A review from a row of `reviews`: its id must be given (a UUID), so that
/// importing it again finds it.
fn review_row(row: &mut Row, now: &Timestamp) -> Result<Review, Problem> {
    let id: ReviewId = row.required("id")?;
    let subject = row.required("subject")?;
    let author = row.required("author")?;
    let title = row.required("title")?;
    let body = row.required("body")?;
    let created_at = row.timestamp("createdAt").unwrap_or_else(|| now.clone());
    Ok(Review {
        id,
        subject,
        author,
        title,
        body,
        photos: Vec::new(),
        updated_at: created_at.clone(),
        created_at,
    })
}

/// A rating from a row of `ratings`: who (`rater`, a caller's `sub`) gave
/// `subject` how many `stars`.
#[derive(Clone)]
struct Rating {
    subject: Subject,
    rater: CallerSub,
    stars: Stars,
}

fn rating_row(row: &mut Row) -> Result<Rating, Problem> {
    Ok(Rating {
        subject: row.required("subject")?,
        rater: row.required("rater")?,
        stars: row.required("stars")?,
    })
}

/// Reads every row of `doc` with `read`, into the report's refusals and
/// drops; the rows that can be imported, with their index.
fn read_rows<T>(
    doc: &Document,
    report: &mut FileReport,
    mut read: impl FnMut(&mut Row) -> Result<T, Problem>,
) -> Vec<(usize, T)> {
    let mut good = Vec::new();
    for (index, value) in doc.rows.iter().enumerate() {
        let parsed = Row::new(index, doc.kind, value).and_then(|mut row| {
            let thing = read(&mut row)?;
            Ok((thing, row.finish()))
        });
        match parsed {
            Ok((thing, dropped)) => {
                report.dropped.extend(dropped);
                good.push((index, thing));
            }
            Err(refused) => report.refused.push(refused),
        }
    }
    good
}

/// A store refusal that concerns one row rather than the whole import.
fn refusal(index: usize, err: StoreError) -> Result<Problem, StoreError> {
    match err {
        StoreError::ConditionFailed(Precondition::WriterProfile) => Ok(problem(
            index,
            "author",
            "the author's profile is being deleted",
        )),
        StoreError::ConditionFailed(Precondition::DeletingCaller) => Ok(problem(
            index,
            "rater",
            "the rater's profile is being deleted",
        )),
        err => Err(err),
    }
}

/// Imports `docs` into the table behind `repo`: users first, then articles,
/// reviews and ratings, whatever the order of the files. A store failure
/// (DynamoDB unreachable, throttled past the retries) stops the import;
/// running it again goes on where it stopped.
pub async fn import(repo: &Repository, docs: &[Document]) -> Result<Report, StoreError> {
    let started = Instant::now();
    let now = Timestamp::now();
    let mut report = Report::default();
    let mut docs: Vec<&Document> = docs.iter().collect();
    docs.sort_by_key(|doc| doc.kind);

    let mut seen: HashMap<UserId, usize> = HashMap::new();
    let mut slugs: HashMap<Slug, usize> = HashMap::new();
    // Authors whose profile is known to exist (or was just made).
    let mut ensured: HashSet<UserId> = HashSet::new();
    for doc in docs {
        let mut file = FileReport {
            file: doc.name.clone(),
            kind: Some(doc.kind),
            rows: doc.rows.len(),
            ..FileReport::default()
        };
        match doc.kind {
            Kind::Users => {
                let rows = read_rows(doc, &mut file, |row| {
                    let user = user_row(row, &now)?;
                    if seen.insert(user.id.clone(), row.index).is_some() {
                        return Err(problem(
                            row.index,
                            "githubProfile",
                            "another row has this id (ids are compared ignoring case)",
                        ));
                    }
                    Ok(user)
                });
                let users: Vec<User> = rows.into_iter().map(|(_, user)| user).collect();
                let created = repo.import_profiles(&users).await?;
                file.imported = created.len();
                file.present = users.len() - created.len();
            }
            Kind::Articles => {
                let rows = read_rows(doc, &mut file, |row| article_row(row, &now, &mut slugs));
                let new = rows.iter().map(|(_, a)| &a.summary.author);
                let new: Vec<UserId> = new
                    .filter(|id| ensured.insert((*id).clone()))
                    .cloned()
                    .collect();
                report
                    .made_profiles
                    .extend(make_profiles(repo, &new, &now).await?);
                write_rows(&mut file, rows, |article: Article| async move {
                    repo.import_article(&article).await
                })
                .await?;
            }
            Kind::Reviews => {
                let rows = read_rows(doc, &mut file, |row| review_row(row, &now));
                let new = rows.iter().map(|(_, r)| &r.author);
                let new: Vec<UserId> = new
                    .filter(|id| ensured.insert((*id).clone()))
                    .cloned()
                    .collect();
                report
                    .made_profiles
                    .extend(make_profiles(repo, &new, &now).await?);
                write_rows(&mut file, rows, |review: Review| async move {
                    repo.import_review(review).await
                })
                .await?;
            }
            Kind::Ratings => {
                let mut rated = HashSet::new();
                let rows = read_rows(doc, &mut file, |row| {
                    let rating = rating_row(row)?;
                    let pair = (rating.subject.clone(), rating.rater.as_str().to_owned());
                    if !rated.insert(pair) {
                        let reason = "another row has this rater's rating of this subject";
                        return Err(problem(row.index, "rater", reason));
                    }
                    Ok(rating)
                });
                write_rows(&mut file, rows, |rating: Rating| async move {
                    let Rating {
                        subject,
                        rater,
                        stars,
                    } = rating;
                    repo.import_rating(&subject, rater.as_str(), stars).await
                })
                .await?;
            }
        }
        report.files.push(file);
    }
    report.made_profiles.sort();
    report.made_profiles.dedup();
    report.seconds = started.elapsed().as_secs_f64();
    let imported: usize = report.files.iter().map(|file| file.imported).sum();
    let refused: usize = report.files.iter().map(|file| file.refused.len()).sum();
    emf::emit(&[
        (
            emf::ITEMS_IMPORTED,
            (imported + report.made_profiles.len()) as u64,
        ),
        (emf::ROWS_REFUSED, refused as u64),
    ]);
    Ok(report)
}

/// Writes `rows` with `write`, [`IN_FLIGHT`] at a time, and counts what
/// became of each: created, present, or refused. A row whose write kept
/// losing races to the others (rows sharing a tag's count or a subject's
/// summary) is written again once the rest are done, alone.
async fn write_rows<T, Written>(
    file: &mut FileReport,
    rows: Vec<(usize, T)>,
    write: impl Fn(T) -> Written,
) -> Result<(), StoreError>
where
    T: Clone,
    Written: Future<Output = Result<bool, StoreError>>,
{
    let write = &write;
    let results: Vec<(usize, T, Result<bool, StoreError>)> = stream::iter(rows)
        .map(|(index, row)| async move {
            let result = write(row.clone()).await;
            (index, row, result)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    for (index, row, result) in results {
        let result = match result {
            Err(StoreError::Contended) => write(row).await,
            result => result,
        };
        match result {
            Ok(true) => file.imported += 1,
            Ok(false) => file.present += 1,
            Err(err) => file.refused.push(refusal(index, err)?),
        }
    }
    file.refused.sort_by_key(|p| p.index);
    Ok(())
}

/// Gives each of `authors` (each once) without a profile one made from its
/// id, so that nothing they wrote is lost; returns the ids of the profiles
/// made. They are not journeyers who joined (they would all have joined
/// "now", and crowd the front end's "new journeyers" out), so they are kept
/// out of the users lists until an admin hands one over.
async fn make_profiles(
    repo: &Repository,
    authors: &[UserId],
    now: &Timestamp,
) -> Result<Vec<String>, StoreError> {
    let users: Vec<User> = authors
        .iter()
        .filter_map(|id| {
            Some(User {
                id: id.clone(),
                name: id.as_str().to_owned().try_into().ok()?,
                twitter_profile: None,
                linkedin_profile: None,
                bio: None,
                avatar_image: None,
                progress: Progress::default(),
                date_joined: now.clone(),
                updated_at: now.clone(),
                journey_repo: None,
                blog_url: None,
                journey: Default::default(),
            })
        })
        .collect();
    let made = repo.import_author_profiles(&users).await?;
    Ok(made.iter().map(|id| id.as_str().to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_says_what_it_holds_by_its_one_key() {
        let users = Document::parse("u.json", br#"{"users": [{"name": "A"}]}"#).expect("users");
        assert_eq!((users.kind, users.rows.len()), (Kind::Users, 1));
        for (bad, says) in [
            (&br#"{"users": [], "articles": []}"#[..], "exactly one of"),
            (br#"{"people": []}"#, "exactly one of"),
            (br#"{"users": {}}"#, "must be an array"),
            (br#"[]"#, "must be a JSON object"),
            (b"{", "not JSON"),
        ] {
            let err = Document::parse("f.json", bad).expect_err("refused");
            assert!(err.starts_with("f.json: ") && err.contains(says), "{err}");
        }
    }
}
