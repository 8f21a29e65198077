//! The front end's contract: for each component of the 100DaysOfCloud front
//! end (`components/`, `pages/`), the fields it reads from the API response it
//! fetches, checked on the responses the API gives. The component names and
//! their fields are read off the front end's source; docs/frontend.md maps its
//! `/api/...` calls onto these routes.

use hdoc_tests::{TestApp, json_of};
use reqwest::Method;
use serde_json::{Value, json};

/// A component, the route its `/api/...` call is rewritten to, and the fields
/// it reads from every item of the answer (or from the one object).
struct Reads {
    component: &'static str,
    route: &'static str,
    fields: &'static [&'static str],
}

const FRONT_END: &[Reads] = &[
    Reads {
        component: "components/HomeLeaderboardEntry.js (HomeLeaderboard.js)",
        route: "/leaderboard?limit=5",
        fields: &[
            "name",
            "githubScore",
            "githubProfile",
            "twitterScore",
            "avatarImage",
        ],
    },
    Reads {
        component: "components/LeaderboardEntry.js (Leaderboard.js, LeaderboardScores.js)",
        route: "/leaderboard",
        fields: &[
            "name",
            "githubProfile",
            "githubScore",
            "githubStreak",
            "twitterProfile",
            "twitterScore",
            "twitterStreak",
            "linkedinProfile",
            "avatarImage",
        ],
    },
    Reads {
        component: "components/RecentUsers.js",
        route: "/users?order=newest&limit=10",
        fields: &["githubProfile", "avatarImage", "name", "id"],
    },
    Reads {
        component: "components/User.js (pages/users/[id].js)",
        route: "/users/ada",
        fields: &[
            "avatarImage",
            "name",
            "githubProfile",
            "bio",
            "twitterProfile",
        ],
    },
    Reads {
        component: "components/FeaturedArticle.js",
        route: "/articles",
        fields: &["title", "subtitle", "image"],
    },
    Reads {
        component: "components/NewsCarousel.js",
        route: "/articles?tag=AWS&limit=5",
        fields: &["title", "subtitle", "image", "id"],
    },
    Reads {
        component: "pages/articles/[[...tag]].js",
        route: "/articles?tag=Open%20System",
        fields: &["title", "subtitle", "image", "id"],
    },
    Reads {
        component: "components/Tags.js",
        route: "/tags?limit=20",
        fields: &["tag", "count"],
    },
];

/// A small community in which every field the front end reads has a value.
async fn community(app: &TestApp) {
    let admin = app.admin().await;
    for (i, id) in ["ada", "grace", "linus"].iter().enumerate() {
        let token = app.token(&format!("sub-{id}"), &[]).await;
        let body = json!({"githubProfile": id, "name": format!("{id} N"), "bio": "hi",
            "twitterProfile": id, "linkedinProfile": id,
            "avatarImage": format!("https://img.example/{id}.png")});
        json_of(
            app.send_json(Method::POST, "/users", Some(&token), &body)
                .await,
            201,
        )
        .await;
        let scores = json!({"githubScore": 10 * i, "githubStreak": i, "twitterScore": i,
            "twitterStreak": i, "daysCompleted": i});
        json_of(
            app.send_json(Method::PUT, &format!("/users/{id}"), Some(&admin), &scores)
                .await,
            200,
        )
        .await;
        let article = json!({"title": format!("Day {i}"), "subtitle": "notes",
            "image": "https://img.example/a.png", "tags": ["AWS", "Open System"]});
        json_of(
            app.send_json(Method::POST, "/articles", Some(&token), &article)
                .await,
            201,
        )
        .await;
    }
}

#[tokio::test]
async fn every_field_each_front_end_component_reads_is_in_the_answer() {
    let app = TestApp::spawn().await;
    community(&app).await;
    for reads in FRONT_END {
        let answer: Value = json_of(app.get(reads.route).await, 200).await;
        let items = match &answer {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        assert!(
            !items.is_empty(),
            "{}: {} is empty",
            reads.component,
            reads.route
        );
        for item in &items {
            for field in reads.fields {
                let value = &item[*field];
                assert!(
                    !value.is_null() && value != "",
                    "{} reads `{field}`, which {} does not give: {item}",
                    reads.component,
                    reads.route
                );
            }
        }
    }
    // What the front end builds from them: links and the total it shows.
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(
        board[0]["linkedinProfile"],
        "https://www.linkedin.com/in/linus"
    );
    assert_eq!(board[0]["twitterProfile"], "linus");
    let total = board[0]["githubScore"]
        .as_u64()
        .zip(board[0]["twitterScore"].as_u64());
    assert_eq!(total.map(|(g, t)| g + t), board[0]["totalScore"].as_u64());
    let recent = json_of(app.get("/users?order=newest&limit=5").await, 200).await;
    assert_eq!(recent[0]["id"], "linus", "newest first");
}
