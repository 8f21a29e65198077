//! `hdoc-local --demo`: a generated community (journeyers with scores,
//! streaks and avatars; articles with tags; reviews; ratings), written
//! through the import path (`crate::import`) into an empty data dir. Made
//! in code from a fixed seed, so every demo is the same community; no row
//! comes from the front end's files.

use crate::import::{self, Document, Kind, Report};
use hdoc_shared::Repository;
use hdoc_shared::domain::{Timestamp, UserOrder};
use hdoc_shared::page::Window;
use hdoc_shared::store::StoreError;
use serde_json::{Value, json};
use std::time::Duration;

/// How big a generated community is.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub journeyers: usize,
    pub articles: usize,
    pub reviews: usize,
    pub ratings: usize,
}

impl Size {
    /// The community `hdoc-local --demo` makes.
    pub const DEMO: Size = Size {
        journeyers: 300,
        articles: 120,
        reviews: 200,
        ratings: 600,
    };
}

const FIRST: &[&str] = &[
    "Ada", "Bola", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Xavi", "Yara", "Zane",
];
const LAST: &[&str] = &[
    "Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
    "Silva", "Tanaka", "Umarov", "Varga", "Wong", "Yilmaz", "Zhou",
];
const TOPICS: &[(&str, &[&str])] = &[
    (
        "a static site on S3 and CloudFront",
        &["aws", "s3", "cloudfront"],
    ),
    ("my first Lambda function", &["aws", "lambda", "serverless"]),
    ("a DynamoDB single-table design", &["aws", "dynamodb"]),
    (
        "Terraform modules for a VPC",
        &["terraform", "aws", "networking"],
    ),
    ("a Kubernetes cluster on AKS", &["azure", "kubernetes"]),
    ("Cloud Run for a small API", &["gcp", "serverless"]),
    (
        "a CI pipeline with GitHub Actions",
        &["devops", "github-actions"],
    ),
    (
        "IAM policies that grant the least",
        &["aws", "iam", "security"],
    ),
    ("cost alarms before the bill comes", &["aws", "cost"]),
    ("an open system for cloud notes", &["open-system"]),
    ("Rust on AWS Lambda", &["rust", "lambda", "serverless"]),
    ("Python scripts with boto3", &["python", "aws"]),
];
const VERBS: &[&str] = &[
    "Building",
    "Deploying",
    "Debugging",
    "Securing",
    "Automating",
    "Monitoring",
];

/// A small deterministic generator (SplitMix64): the same seed, the same
/// community.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `days` days and `seconds` seconds before `now`, as an API timestamp.
fn ago(now: time::OffsetDateTime, days: usize, seconds: usize) -> String {
    let at = now - Duration::from_secs((days * 86_400 + seconds) as u64);
    Timestamp::from_datetime(at).as_str().to_owned()
}

/// The demo community as import files, from `seed`, dated back from `now`.
pub fn community(seed: u64, now: time::OffsetDateTime, size: Size) -> Vec<Document> {
    let mut rng = Seeded(seed);
    let mut users = Vec::new();
    let mut ids = Vec::new();
    for n in 0..size.journeyers {
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let id = format!("{}{}{n}", first.to_lowercase(), &last[..1].to_lowercase());
        let joined = rng.below(100);
        let days = joined.min(100) as u64;
        let active = days.saturating_sub(rng.below(10) as u64);
        let github_streak = rng.below(active as usize + 1) as u64;
        let twitter_streak = rng.below(active as usize + 1) as u64;
        users.push(json!({
            "githubProfile": id,
            "name": format!("{first} {last}"),
            "daysCompleted": active,
            "githubScore": active * 10 + rng.below(50) as u64,
            "githubStreak": github_streak,
            "twitterProfile": format!("{}_{}", first.to_lowercase(), n),
            "twitterScore": active * 5 + rng.below(30) as u64,
            "twitterStreak": twitter_streak,
            "linkedinProfile": format!("{}-{}-{n}", first.to_lowercase(), last.to_lowercase()),
            "avatarImage": format!("https://robohash.org/{id}.png?size=300x300&set=set1"),
            "dateJoined": ago(now, joined, rng.below(86_400)),
        }));
        ids.push(id);
    }
    let mut articles = Vec::new();
    let mut slugs = Vec::new();
    for n in 0..size.articles {
        let (topic, tags) = rng.pick(TOPICS);
        let verb = rng.pick(VERBS);
        let day = n % 100 + 1;
        let title = format!("Day {day}: {verb} {topic}");
        let slug = format!(
            "day-{day}-{}-{n}",
            hdoc_shared::domain::slugify(&format!("{verb} {topic}"))
        );
        let author = rng.pick(&ids).clone();
        let body = format!(
            "Today I spent my hour on {topic}.\n\nWhat worked: reading the docs first. \
             What did not: guessing.\n\nTomorrow: more of the same, a little further. #100DaysOfCloud"
        );
        let color = ["1f6feb", "2da44e", "bf3989", "cf222e", "8250df"][n % 5];
        articles.push(json!({
            "id": slug,
            "title": title,
            "subtitle": format!("{verb} {topic}, one day at a time"),
            "body": body,
            "image": format!("https://dummyimage.com/1200x630/{color}/ffffff.png&text=Day+{day}"),
            "tags": tags,
            "author": author,
            "createdAt": ago(now, rng.below(90), rng.below(86_400)),
        }));
        slugs.push(slug);
    }
    let mut reviews = Vec::new();
    for n in 0..size.reviews {
        let slug = rng.pick(&slugs);
        let millis = (now.unix_timestamp() as u64 - (size.reviews - n) as u64 * 3600) * 1000;
        let bytes = rng.next().to_be_bytes();
        let random = [bytes, rng.next().to_be_bytes()].concat();
        let mut tail = [0u8; 10];
        tail.copy_from_slice(&random[..10]);
        let id = uuid::Builder::from_unix_timestamp_millis(millis, &tail).into_uuid();
        reviews.push(json!({
            "id": id.to_string(),
            "subject": format!("article:{slug}"),
            "author": rng.pick(&ids),
            "title": *rng.pick(&["Helped me a lot", "Clear and short", "Tried it, works", "Good start"]),
            "body": "I followed this on my own account and it worked the first time. Thanks for writing it up.",
            "createdAt": ago(now, 0, (size.reviews - n) * 3600),
        }));
    }
    let mut ratings = Vec::new();
    let mut rated = std::collections::HashSet::new();
    while ratings.len() < size.ratings {
        let (slug, rater) = (rng.pick(&slugs), rng.pick(&ids));
        if rated.insert((slug, rater)) {
            ratings.push(json!({
                "subject": format!("article:{slug}"),
                "rater": format!("demo-{rater}"),
                "stars": *rng.pick(&[3, 4, 4, 5, 5, 5, 2, 1]),
            }));
        }
    }
    let doc = |kind: Kind, name: &str, rows: Vec<Value>| Document {
        name: format!("demo {name}"),
        kind,
        rows,
    };
    vec![
        doc(Kind::Users, "users", users),
        doc(Kind::Articles, "articles", articles),
        doc(Kind::Reviews, "reviews", reviews),
        doc(Kind::Ratings, "ratings", ratings),
    ]
}

/// Fills an empty table with a community of `size`; `None` (nothing
/// written) when the table has profiles already.
pub async fn fill(repo: &Repository, size: Size) -> Result<Option<Report>, StoreError> {
    let first = Window::first(1);
    if !repo
        .list_users(UserOrder::Oldest, &first)
        .await?
        .items
        .is_empty()
    {
        return Ok(None);
    }
    let docs = community(100, time::OffsetDateTime::now_utc(), size);
    import::import(repo, &docs).await.map(Some)
}
