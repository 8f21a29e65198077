use hdoc_tests::{TestApp, json_of, next_link, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// Creates users with the given (id, githubScore, twitterScore).
async fn seed(app: &TestApp, users: &[(&str, u64, u64)]) {
    let admin = app.admin().await;
    for (i, (id, github, twitter)) in users.iter().enumerate() {
        app.user(&format!("sub-{i}"), id).await;
        let body = json!({"githubScore": github, "twitterScore": twitter});
        let path = format!("/users/{id}");
        json_of(
            app.send_json(Method::PUT, &path, Some(&admin), &body).await,
            200,
        )
        .await;
    }
}

fn ids(board: &Value) -> Vec<&str> {
    board
        .as_array()
        .expect("bare array")
        .iter()
        .map(|row| row["id"].as_str().expect("id"))
        .collect()
}

#[tokio::test]
async fn highest_total_first_ties_by_id_ranked_from_one() {
    let app = TestApp::spawn().await;
    seed(
        &app,
        &[
            ("carol", 1, 1),
            ("bob", 5, 0),
            ("alice", 2, 3),
            ("dave", 9, 0),
        ],
    )
    .await;
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(ids(&board), ["dave", "alice", "bob", "carol"]);
    let ranks: Vec<_> = board
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["rank"].as_u64())
        .collect();
    assert_eq!(ranks, [Some(1), Some(2), Some(3), Some(4)]);
    assert_eq!(
        board[1],
        json!({"rank": 2, "id": "alice", "githubProfile": "alice", "name": "alice name",
               "twitterProfile": null, "linkedinProfile": null, "avatarImage": "https://github.com/alice.png",
               "githubScore": 2, "githubStreak": 0, "twitterScore": 3, "twitterStreak": 0,
               "daysCompleted": 0, "totalScore": 5})
    );
}

#[tokio::test]
async fn the_default_page_is_ten_and_pages_keep_counting_ranks() {
    let app = TestApp::spawn().await;
    let users: Vec<(String, u64)> = (0..13).map(|i| (format!("user{i:02}"), 100 - i)).collect();
    let users: Vec<(&str, u64, u64)> = users.iter().map(|(id, s)| (id.as_str(), *s, 0)).collect();
    seed(&app, &users).await;
    let response = app.get("/leaderboard").await;
    let next = next_link(&response).expect("a next page");
    let first = json_of(response, 200).await;
    assert_eq!(first.as_array().map(Vec::len), Some(10));
    let response = app.get(&next).await;
    assert_eq!(next_link(&response), None);
    let second = json_of(response, 200).await;
    assert_eq!(ids(&second), ["user10", "user11", "user12"]);
    assert_eq!(second[0]["rank"], 11);
    let limited = json_of(app.get("/leaderboard?limit=3").await, 200).await;
    assert_eq!(ids(&limited), ["user00", "user01", "user02"]);
}

#[tokio::test]
async fn a_score_change_moves_the_user_at_once() {
    let app = TestApp::spawn().await;
    seed(&app, &[("alice", 5, 0), ("bob", 3, 0)]).await;
    let admin = app.admin().await;
    let body = json!({"twitterScore": 10});
    json_of(
        app.send_json(Method::PUT, "/users/bob", Some(&admin), &body)
            .await,
        200,
    )
    .await;
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(ids(&board), ["bob", "alice"]);
    assert_eq!(board[0]["totalScore"], 13);
}

#[tokio::test]
async fn a_deleted_user_leaves_the_leaderboard() {
    let app = TestApp::spawn().await;
    seed(&app, &[("alice", 5, 0), ("bob", 3, 0)]).await;
    let admin = app.admin().await;
    let response = app
        .request(Method::DELETE, "/users/alice", Some(&admin))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);
    let board = json_of(app.get("/leaderboard").await, 200).await;
    assert_eq!(ids(&board), ["bob"]);
    assert_eq!(board[0]["rank"], 1);
}

#[tokio::test]
async fn leaderboard_limits_are_checked() {
    let app = TestApp::spawn().await;
    for bad in ["0", "101", "x", "1&limit=2", "-3", "2.5"] {
        problem(app.get(&format!("/leaderboard?limit={bad}")).await, 400).await;
    }
    json_of(app.get("/leaderboard?limit=100").await, 200).await;
}
