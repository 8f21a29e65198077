//! The leaderboard (`/leaderboard`): a sparse index of the profiles, sorted by
//! total score. Only profile items carry its key, written with the profile,
//! so a score change moves the user in the same write.

use super::error::Result;
use super::item::n;
use super::schema::{GSI1, GSI2};
use super::users::{from_item, is_v1_profile, to_item};
use super::write::{Outcome, Part, Write};
use super::{Item, Page, Repository};
use crate::domain::{RankedUser, User};
use crate::request::PageRequest;

/// The ranking index partition of the leaderboard.
pub(super) const LEADERBOARD: &str = "LEADERBOARD";

/// Sort key of the leaderboard: ascending order is highest total first
/// (the total is stored inverted, zero-padded), then id ascending.
pub(super) fn leaderboard_key(user: &User) -> String {
    format!("{:020}#{}", u64::MAX - user.total_score(), user.id.key())
}

/// What the reconcile job did with a profile it checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ProfileCheck {
    /// Nothing to do (or a concurrent write rewrote it first).
    Right,
    /// Its derived attributes had drifted, and were rewritten.
    Repaired,
    /// It had v1 attribute names, and was rewritten in v2's.
    Upgraded,
}

impl Repository {
    /// The leaderboard: highest total first, ties by id. One Query on the
    /// sparse ranking index, whatever the number of users.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn top_scores(&self, page: &PageRequest) -> Result<Page<RankedUser>> {
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

    /// Checks a profile's derived attributes (its total, its place in the
    /// users list and on the leaderboard) against its scores, and rewrites
    /// the profile if they differ or it still has v1 attribute names,
    /// conditioned on the version read. A lost race means a write rewrote
    /// the profile, derived keys included: nothing left to do.
    pub(super) async fn repair_profile(&self, stored: &Item) -> Result<ProfileCheck> {
        let mut record = from_item(stored)?;
        let derived = [
            GSI1.partition_key,
            GSI1.sort_key,
            GSI2.partition_key,
            GSI2.sort_key,
            "totalScore",
        ];
        let expected = to_item(&record);
        let drifted = derived
            .iter()
            .any(|key| stored.get(*key) != expected.get(*key));
        if !drifted && !is_v1_profile(stored) {
            return Ok(ProfileCheck::Right);
        }
        let read = record.version;
        record.version += 1;
        let mut write = Write::new(&self.table);
        write.put(Part::Main, to_item(&record), "version = :v", Some(n(read)))?;
        if let Outcome::Cancelled(_) = self.commit(write).await? {
            return Ok(ProfileCheck::Right);
        }
        let id = record.user.id.as_str();
        Ok(if drifted {
            tracing::warn!(id, "repaired a leaderboard entry");
            ProfileCheck::Repaired
        } else {
            tracing::info!(id, "rewrote a v1 profile in v2's names");
            ProfileCheck::Upgraded
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NewUser, Timestamp};
    use crate::request::parse_json;

    fn user(id: &str, github: u64, twitter: u64) -> User {
        let body = format!(
            r#"{{"githubProfile":"{id}","name":"N","githubScore":{github},"twitterScore":{twitter}}}"#
        );
        parse_json::<NewUser>(body.as_bytes())
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
}
