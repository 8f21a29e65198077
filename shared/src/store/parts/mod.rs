//! Transaction parts that writes of several aggregates share: the checks on
//! a writer's profile and a rater's claim, and the change to a subject's
//! rating summary that a rating and a review both make; and the record of
//! a keyed create's first answer (`answers.rs`), which every create writes.

pub mod answers;

use super::error::Result;
use super::item::{n, s};
use super::keys::{PROFILE, SUMMARY, claim_pk, subject_pk, user_pk};
use super::write::{Part, Write};
use crate::domain::{Subject, UserId};
use std::collections::HashMap;

/// Holds `write` to `id` having a live profile (not deleted, not being deleted).
pub(in crate::store) fn check_live_profile(write: &mut Write, id: &UserId) -> Result<()> {
    write.check(
        Part::Author,
        user_pk(id),
        PROFILE,
        "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
    )?;
    Ok(())
}

/// Holds `write` to the caller `sub` not having a profile being deleted.
pub(in crate::store) fn check_caller_not_deleting(write: &mut Write, sub: &str) -> Result<()> {
    write.check(
        Part::Claim,
        claim_pk(sub),
        PROFILE,
        "attribute_not_exists(deletedAt)",
    )?;
    Ok(())
}

/// Adds to `write` the `deltas` to the subject's summary item (creating it if
/// need be), moving its revision on (the reconcile job's repairs are
/// conditioned on it).
pub(in crate::store) fn add_to_summary(
    write: &mut Write,
    subject: &Subject,
    deltas: &[(String, i64)],
) -> Result<()> {
    let mut names = HashMap::from([("#subject".to_owned(), "subject".to_owned())]);
    let mut values = HashMap::from([
        (":subject".to_owned(), s(subject.as_str())),
        (":one".to_owned(), n(1)),
    ]);
    let mut adds = vec!["rev :one".to_owned()];
    for (i, (attribute, delta)) in deltas.iter().enumerate() {
        names.insert(format!("#a{i}"), attribute.clone());
        values.insert(
            format!(":d{i}"),
            aws_sdk_dynamodb::types::AttributeValue::N(delta.to_string()),
        );
        adds.push(format!("#a{i} :d{i}"));
    }
    write.update(
        Part::Summary,
        (subject_pk(subject), SUMMARY),
        format!("SET #subject = :subject ADD {}", adds.join(", ")),
        names,
        values,
        None,
    )?;
    Ok(())
}
