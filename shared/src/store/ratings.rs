//! Star ratings and each subject's summary (`/ratings`).
//!
//! A subject's summary (ratings per number of stars, review count) is one
//! item. Every rating change and every review create or delete writes its own
//! item and the summary in one transaction: the rating or review item carries
//! the condition on its prior state (absent, or the stars it was read with),
//! and the summary changes by `ADD` of the difference. So concurrent raters
//! never wait on one another, and a retried or racing request whose
//! condition no longer holds is cancelled whole: nothing counts twice.

use super::codec::review::ReviewFilter;
use super::error::{Precondition, Result, StoreError};
use super::item::{n, number, optional_number, parsed, s};
use super::keys::{RATING_PREFIX, SUMMARY, rater_partition, rating_sk, subject_pk};
use super::parts::{add_to_summary, check_caller_not_deleting};
use super::read::Read;
use super::retry::Attempt;
use super::schema::{GSI1, PK, SK};
use super::write::{Outcome, Part, Write, if_rev};
use super::{Item, Page, Repository};
use crate::domain::{Stars, Subject, SubjectSummary, Tally};
use crate::page::Window;

/// The histogram attribute for a number of stars.
fn bucket(stars: Stars) -> String {
    format!("s{}", stars.get())
}

fn summary_from_item(item: &Item) -> Result<Tally> {
    let count = |name: &str| Ok::<_, StoreError>(optional_number(item, name)?.unwrap_or(0));
    Ok(Tally {
        histogram: [
            count("s1")?,
            count("s2")?,
            count("s3")?,
            count("s4")?,
            count("s5")?,
        ],
        review_count: count("reviewCount")?,
    })
}

/// A subject's summary item as the reconcile job rewrites it, at revision `rev`.
fn summary_item(subject: &Subject, summary: &Tally, rev: u64) -> Item {
    let mut item = Item::from([
        (PK.to_owned(), s(subject_pk(subject))),
        (SK.to_owned(), s(SUMMARY)),
        ("subject".to_owned(), s(subject.as_str())),
        ("reviewCount".to_owned(), n(summary.review_count)),
        ("rev".to_owned(), n(rev)),
    ]);
    for (stars, count) in (1..).zip(summary.histogram) {
        item.insert(format!("s{stars}"), n(count));
    }
    item
}

impl Repository {
    /// A subject's summary: one GetItem. An unknown subject has a zero
    /// summary. A public read: eventually consistent.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str()))]
    pub async fn summary(&self, subject: &Subject) -> Result<SubjectSummary> {
        self.read_summary(subject, Read::Eventual).await
    }

    /// A subject's summary as a rater sees it right after rating: consistent.
    pub async fn summary_after_rating(&self, subject: &Subject) -> Result<SubjectSummary> {
        self.read_summary(subject, Read::Consistent).await
    }

    async fn read_summary(&self, subject: &Subject, read: Read) -> Result<SubjectSummary> {
        let item = self.get(subject_pk(subject), SUMMARY, read).await?;
        let summary = item
            .as_ref()
            .map(summary_from_item)
            .transpose()?
            .unwrap_or_default();
        Ok(SubjectSummary {
            subject: subject.clone(),
            summary,
        })
    }

    /// The stars `sub` gave `subject`, if any. The caller's own state: read
    /// consistently.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str()))]
    pub async fn rating(&self, subject: &Subject, sub: &str) -> Result<Option<Stars>> {
        let item = self
            .get(subject_pk(subject), &rating_sk(sub), Read::Consistent)
            .await?;
        item.map(|item| {
            u8::try_from(number(&item, "stars")?)
                .ok()
                .and_then(|stars| Stars::try_from(stars).ok())
                .ok_or_else(|| StoreError::corrupt("a rating's `stars`"))
        })
        .transpose()
    }

    /// Sets `sub`'s rating of `subject` to `stars`, replacing any earlier one.
    /// Refused while the caller's profile is being deleted.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str(), stars = stars.get()))]
    pub async fn rate(&self, subject: &Subject, sub: &str, stars: Stars) -> Result<()> {
        self.optimistic(|| async {
            let old = self.rating(subject, sub).await?;
            if old == Some(stars) {
                return Ok(Attempt::Done(()));
            }
            let rating = Item::from([
                (PK.to_owned(), s(subject_pk(subject))),
                (SK.to_owned(), s(rating_sk(sub))),
                (GSI1.partition_key.to_owned(), s(rater_partition(sub))),
                (GSI1.sort_key.to_owned(), s(subject.as_str())),
                ("subject".to_owned(), s(subject.as_str())),
                ("rater".to_owned(), s(sub)),
                ("stars".to_owned(), n(u64::from(stars.get()))),
            ]);
            let mut deltas = vec![(bucket(stars), 1)];
            let mut write = Write::new(&self.table);
            match old {
                None => write.put(Part::Main, rating, "attribute_not_exists(PK)", None)?,
                Some(old) => {
                    deltas.push((bucket(old), -1));
                    let read = Some(n(u64::from(old.get())));
                    write.put(Part::Main, rating, "stars = :v", read)?
                }
            };
            add_to_summary(&mut write, subject, &deltas)?;
            check_caller_not_deleting(&mut write, sub)?;
            match self.commit(write).await? {
                Outcome::Committed => Ok(Attempt::Done(())),
                Outcome::Cancelled(c) if c.failed(Part::Claim) => {
                    Err(StoreError::ConditionFailed(Precondition::DeletingCaller))
                }
                Outcome::Cancelled(_) => Ok(Attempt::Lost),
            }
        })
        .await
    }

    /// Sets `sub`'s rating of `subject` as an import does: `Ok(false)`,
    /// writing nothing, when `sub` has rated `subject` already.
    pub async fn import_rating(&self, subject: &Subject, sub: &str, stars: Stars) -> Result<bool> {
        if self.rating(subject, sub).await?.is_some() {
            return Ok(false);
        }
        self.rate(subject, sub, stars).await.map(|()| true)
    }

    /// Removes `sub`'s rating of `subject`. `Ok(false)` when there was none.
    #[tracing::instrument(skip_all, fields(subject = subject.as_str()))]
    pub async fn unrate(&self, subject: &Subject, sub: &str) -> Result<bool> {
        self.optimistic(|| async {
            let Some(old) = self.rating(subject, sub).await? else {
                return Ok(Attempt::Done(false));
            };
            let mut write = Write::new(&self.table);
            let read = Some(n(u64::from(old.get())));
            write.delete(
                Part::Main,
                subject_pk(subject),
                &rating_sk(sub),
                "stars = :v",
                read,
            )?;
            add_to_summary(&mut write, subject, &[(bucket(old), -1)])?;
            Ok(match self.commit(write).await? {
                Outcome::Committed => Attempt::Done(true),
                Outcome::Cancelled(_) => Attempt::Lost,
            })
        })
        .await
    }

    /// The subjects `sub` has rated, a page at a time (through the raters
    /// index, so a rating written a moment ago may not be listed yet).
    #[tracing::instrument(skip_all)]
    pub async fn rated_by(&self, sub: &str, page: &Window) -> Result<Page<Subject>> {
        let found = self
            .query_page(GSI1, &rater_partition(sub), true, page)
            .await?;
        found.try_map(|item| parsed(&item, "subject"))
    }

    /// Recounts `subject`'s summary from its ratings and its reviews (its
    /// list's entries, written in the same transaction as each review), and
    /// rewrites it if it differs, conditioned on the revision read before
    /// counting. `Ok(true)` when it repaired.
    pub(super) async fn recount_subject(&self, subject: &Subject) -> Result<bool> {
        let reviews = ReviewFilter::Subject(subject.clone()).partition();
        self.optimistic(|| async {
            let stored = self
                .get(subject_pk(subject), SUMMARY, Read::Consistent)
                .await?;
            let summary = stored.as_ref().map(summary_from_item).transpose()?;
            let rev = stored
                .as_ref()
                .map(|item| optional_number(item, "rev"))
                .transpose()?
                .flatten();
            let mut actual = Tally {
                histogram: [0; 5],
                review_count: self.count_partition(&reviews).await?,
            };
            let ratings = self
                .partition_items(&subject_pk(subject), Some(RATING_PREFIX), "stars")
                .await?;
            for rating in &ratings {
                let stars = usize::try_from(number(rating, "stars")?).unwrap_or(0);
                match actual.histogram.get_mut(stars.wrapping_sub(1)) {
                    Some(count) => *count += 1,
                    None => return Err(StoreError::corrupt("a rating's `stars`")),
                }
            }
            if summary.clone().unwrap_or_default() == actual {
                return Ok(Attempt::Done(false));
            }
            let (condition, value) = if_rev(rev);
            let item = summary_item(subject, &actual, rev.unwrap_or(0) + 1);
            let mut write = Write::new(&self.table);
            write.put(Part::Summary, item, condition, value)?;
            if let Outcome::Cancelled(_) = self.commit(write).await? {
                return Ok(Attempt::Lost);
            }
            tracing::warn!(
                subject = subject.as_str(),
                ?summary,
                ?actual,
                "repaired a summary"
            );
            Ok(Attempt::Done(true))
        })
        .await
    }
}
