//! The leaderboard (`/leaderboard`): a sparse index of the profiles, sorted by
//! total score. Only profile items carry its key, written with the profile,
//! so a score change moves the user in the same write.

use super::codec::user::from_item;
use super::error::Result;
use super::keys::LEADERBOARD;
use super::schema::GSI2;
use super::{Page, Repository};
use crate::domain::RankedUser;
use crate::page::Window;

impl Repository {
    /// The leaderboard: highest total first, ties by id. One Query on the
    /// sparse ranking index, whatever the number of users.
    #[tracing::instrument(skip_all, fields(limit = page.limit))]
    pub async fn top_scores(&self, page: &Window) -> Result<Page<RankedUser>> {
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
}
