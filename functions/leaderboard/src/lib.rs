//! `/leaderboard`: users by total score, from one Query on a sparse index.

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use hdoc_shared::domain::IsoWeek;
use hdoc_shared::http::Route;
use hdoc_shared::{AppState, PageLimits, PageQuery, Query, Result};
use serde::Deserialize;

const PAGE: PageLimits = PageLimits {
    default: 10,
    max: 100,
};

/// The routes this function serves, for `template.yaml` and its tests.
pub const ROUTES: &[Route] = &[Route::public("GET", "/leaderboard")];

/// The router for [`ROUTES`].
pub fn routes() -> Router<AppState> {
    Router::new().route("/leaderboard", get(top))
}

/// Which leaderboard: all time (the default) or the current ISO week.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
enum Period {
    #[default]
    All,
    Week,
}

impl TryFrom<String> for Period {
    type Error = String;
    fn try_from(raw: String) -> std::result::Result<Self, String> {
        match raw.as_str() {
            "all" => Ok(Self::All),
            "week" => Ok(Self::Week),
            _ => Err("must be all or week".into()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct BoardQuery {
    #[serde(default)]
    period: Period,
}

/// `GET /leaderboard?period=all|week`: all time, highest total first; or
/// the current ISO week (UTC, Monday to Sunday), most days documented in it
/// first, each row with `weekDays`. Ties by id, ranked from 1; one Query of
/// the ranking index either way (the week's rows then one `BatchGetItem`).
#[tracing::instrument(skip_all)]
async fn top(
    State(state): State<AppState>,
    uri: Uri,
    Query(BoardQuery { period }): Query<BoardQuery>,
    query: PageQuery,
) -> Result<Response> {
    match period {
        Period::All => {
            let page = state.page("leaderboard", &query, PAGE)?;
            let ranked = state.repo.top_scores(&page.window).await?;
            Ok(state.page_response(&uri, &page, ranked))
        }
        Period::Week => {
            let week = IsoWeek::of(
                state
                    .config
                    .clock
                    .now()
                    .to_offset(time::UtcOffset::UTC)
                    .date(),
            );
            // A cursor of one week's board is no cursor of another's.
            let page = state.page(format!("leaderboard:{week}"), &query, PAGE)?;
            let ranked = state.repo.week_scores(week, &page.window).await?;
            Ok(state.page_response(&uri, &page, ranked))
        }
    }
}
