//! Reviews of subjects, and star ratings with their summaries.

use super::number::Integral;
use super::text::{Timestamp, checked_newtype, present, text_newtype};
use super::user::UserId;
use serde::{Deserialize, Serialize};

/// What a review or rating is about: an opaque id chosen by the front end,
/// such as `park:yosemite`: 1-128 of `[a-z0-9:_-]`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subject(String);

impl Subject {
    fn check(raw: &str) -> Result<(), String> {
        let valid = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":_-".contains(&b))
            && raw
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(())
        } else {
            Err(
                "must be 1-128 of a-z, 0-9, ':', '_' and '-', starting with a letter or digit"
                    .into(),
            )
        }
    }
}

checked_newtype!(Subject);

/// A review's id: a UUID (v7, so ids sort by creation), lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReviewId(String);

impl ReviewId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    fn check(raw: &str) -> Result<(), String> {
        match uuid::Uuid::try_parse(raw) {
            Ok(id) if id.to_string() == raw => Ok(()),
            _ => Err("must be a review id (a lowercase UUID)".into()),
        }
    }
}

impl Default for ReviewId {
    fn default() -> Self {
        Self::new()
    }
}

checked_newtype!(ReviewId);

text_newtype!(
    /// A review's title: 1-200 characters, not blank.
    ReviewTitle, 1, 200
);
text_newtype!(
    /// A review's body: 1-10,000 characters, not blank.
    ReviewBody, 1, 10_000
);

/// A review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub id: ReviewId,
    pub subject: Subject,
    pub author: UserId,
    pub title: ReviewTitle,
    pub body: ReviewBody,
    /// Public URLs of the review's uploaded photos.
    pub photos: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How many characters of a review's body its summary shows.
pub const EXCERPT_CHARS: usize = 200;

/// What a list of reviews shows of each: everything but the body, and the
/// body's first [`EXCERPT_CHARS`] characters (with `…` when cut) instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSummary {
    pub id: ReviewId,
    pub subject: Subject,
    pub author: UserId,
    pub title: ReviewTitle,
    pub excerpt: String,
    pub photos: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Review {
    /// This review's summary, as its list entries hold it.
    pub fn summary(&self) -> ReviewSummary {
        ReviewSummary {
            id: self.id.clone(),
            subject: self.subject.clone(),
            author: self.author.clone(),
            title: self.title.clone(),
            excerpt: excerpt(self.body.as_str()),
            photos: self.photos.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// The first [`EXCERPT_CHARS`] characters of `body`, cut at a character
/// boundary, with `…` when there is more.
fn excerpt(body: &str) -> String {
    match body.char_indices().nth(EXCERPT_CHARS) {
        None => body.to_owned(),
        Some((cut, _)) => format!("{}…", body[..cut].trim_end()),
    }
}

/// The body of `POST /reviews`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewReview {
    pub subject: Subject,
    pub title: ReviewTitle,
    pub body: ReviewBody,
}

impl NewReview {
    pub fn into_review(self, author: UserId, now: Timestamp) -> Review {
        Review {
            id: ReviewId::new(),
            subject: self.subject,
            author,
            title: self.title,
            body: self.body,
            photos: Vec::new(),
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

/// The body of `PUT /reviews/{id}`: title and body, either or both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReviewChanges {
    #[serde(default, deserialize_with = "present")]
    pub title: Option<ReviewTitle>,
    #[serde(default, deserialize_with = "present")]
    pub body: Option<ReviewBody>,
}

impl ReviewChanges {
    pub fn apply(&self, review: &mut Review, now: Timestamp) {
        if let Some(title) = &self.title {
            review.title = title.clone();
        }
        if let Some(body) = &self.body {
            review.body = body.clone();
        }
        review.updated_at = now;
    }
}

/// Largest photo accepted: 5 MiB.
pub const MAX_PHOTO_BYTES: u32 = 5 * 1024 * 1024;
/// Most photos a review may have.
pub const MAX_PHOTOS: usize = 6;

/// The image types a photo may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhotoType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
}

impl PhotoType {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// A photo size: 1 byte to 5 MiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Integral", into = "u32")]
pub struct PhotoSize(u32);

impl TryFrom<u32> for PhotoSize {
    type Error = String;
    fn try_from(raw: u32) -> Result<Self, String> {
        if (1..=MAX_PHOTO_BYTES).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(format!(
                "must be an integer from 1 to {MAX_PHOTO_BYTES} (5 MiB)"
            ))
        }
    }
}

impl TryFrom<Integral> for PhotoSize {
    type Error = String;
    fn try_from(raw: Integral) -> Result<Self, String> {
        u32::try_from(raw.0)
            .map_err(|_| String::new())
            .and_then(Self::try_from)
            .map_err(|_| format!("must be an integer from 1 to {MAX_PHOTO_BYTES} (5 MiB)"))
    }
}

impl From<PhotoSize> for u32 {
    fn from(size: PhotoSize) -> Self {
        size.0
    }
}

impl From<PhotoSize> for i64 {
    fn from(size: PhotoSize) -> Self {
        i64::from(size.0)
    }
}

/// The body of `POST /reviews/{id}/photos`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PhotoRequest {
    pub content_type: PhotoType,
    pub content_length: PhotoSize,
}

/// A star rating: an integer from 1 to 5, and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Integral", into = "u8")]
pub struct Stars(u8);

impl TryFrom<u8> for Stars {
    type Error = String;
    fn try_from(raw: u8) -> Result<Self, String> {
        if (1..=5).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err("must be an integer from 1 to 5".into())
        }
    }
}

impl TryFrom<Integral> for Stars {
    type Error = String;
    fn try_from(raw: Integral) -> Result<Self, String> {
        u8::try_from(raw.0)
            .map_err(|_| String::new())
            .and_then(Self::try_from)
            .map_err(|_| "must be an integer from 1 to 5".into())
    }
}

impl From<Stars> for u8 {
    fn from(stars: Stars) -> Self {
        stars.0
    }
}

impl Stars {
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The body of `PUT /ratings/{subject}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub stars: Stars,
}

/// The tally of a subject's ratings and reviews: one item, one read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many ratings of each number of stars (index 0 is one star).
    pub histogram: [u64; 5],
    pub review_count: u64,
}

impl Tally {
    pub fn count(&self) -> u64 {
        self.histogram.iter().sum()
    }

    /// The mean rating, rounded to two decimals; 0 with no ratings.
    pub fn average(&self) -> f64 {
        let count = self.count();
        if count == 0 {
            return 0.0;
        }
        let stars: u64 = self
            .histogram
            .iter()
            .zip(1..)
            .map(|(n, stars)| n * stars)
            .sum();
        (stars as f64 * 100.0 / count as f64).round() / 100.0
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryView<'a> {
    subject: &'a str,
    count: u64,
    average: f64,
    histogram: std::collections::BTreeMap<String, u64>,
    review_count: u64,
}

/// A subject's summary as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectSummary {
    pub subject: Subject,
    pub summary: Tally,
}

impl Serialize for SubjectSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SummaryView {
            subject: self.subject.as_str(),
            count: self.summary.count(),
            average: self.summary.average(),
            histogram: (1..=5)
                .map(|stars| (stars.to_string(), self.summary.histogram[stars - 1]))
                .collect(),
            review_count: self.summary.review_count,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_long_bodies_at_a_character() {
        assert_eq!(excerpt("short"), "short");
        let exact = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long = format!("{} tail", "é".repeat(EXCERPT_CHARS - 1));
        assert_eq!(
            excerpt(&long),
            format!("{}…", "é".repeat(EXCERPT_CHARS - 1))
        );
    }
    use crate::strategies::parse_json;

    #[test]
    fn stars_are_whole_numbers_from_one_to_five() {
        // 5.0 is the integer 5 in JSON Schema, and so in the OpenAPI document.
        for ok in ["1", "5", "5.0"] {
            let body = format!(r#"{{"stars":{ok}}}"#);
            assert!(parse_json::<RatingRequest>(body.as_bytes()).is_ok(), "{ok}");
        }
        for bad in ["0", "6", "3.5", "\"5\"", "-1", "null", "256", "5.5", "true"] {
            let body = format!(r#"{{"stars":{bad}}}"#);
            assert!(
                parse_json::<RatingRequest>(body.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn subjects_follow_the_contract() {
        for ok in [
            "park:yosemite",
            "article:my-first-day",
            "a",
            "9_x",
            &"a".repeat(128),
        ] {
            assert!(Subject::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ":x",
            "-x",
            "_x",
            "Park:x",
            "park yosemite",
            "park/x",
            &"a".repeat(129),
        ] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn summaries_average_to_two_decimals() {
        let summary = Tally {
            histogram: [0, 0, 1, 1, 1],
            review_count: 2,
        };
        assert_eq!(summary.count(), 3);
        assert_eq!(summary.average(), 4.0);
        let thirds = Tally {
            histogram: [1, 0, 0, 0, 2],
            review_count: 0,
        };
        assert_eq!(thirds.average(), 3.67);
        assert_eq!(Tally::default().average(), 0.0);
        let json = serde_json::to_value(SubjectSummary {
            subject: Subject::parse("park:x").expect("subject"),
            summary: thirds,
        })
        .expect("json");
        assert_eq!(
            json,
            serde_json::json!({"subject": "park:x", "count": 3, "average": 3.67,
                "histogram": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 2}, "reviewCount": 0})
        );
    }

    #[test]
    fn photo_requests_take_three_types_up_to_five_mib() {
        let ok =
            parse_json::<PhotoRequest>(br#"{"contentType":"image/webp","contentLength":5242880}"#);
        assert_eq!(ok.map(|r| r.content_type.extension()).ok(), Some("webp"));
        for bad in [
            r#"{"contentType":"image/gif","contentLength":10}"#,
            r#"{"contentType":"IMAGE/PNG","contentLength":10}"#,
            r#"{"contentType":"image/png","contentLength":0}"#,
            r#"{"contentType":"image/png","contentLength":5242881}"#,
            r#"{"contentType":"image/png","contentLength":1.5}"#,
            r#"{"contentType":"image/png"}"#,
        ] {
            assert!(parse_json::<PhotoRequest>(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn review_ids_are_lowercase_uuids() {
        let id = ReviewId::new();
        assert_eq!(ReviewId::parse(id.as_str()), Ok(id.clone()));
        assert!(ReviewId::parse(&id.as_str().to_uppercase()).is_err());
        assert!(ReviewId::parse("not-an-id").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::strategies::parse_json;
    use crate::strategies::{body_of, text};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn subjects_parse_any_text_and_round_trip(raw in prop_oneof![text(), "[a-z0-9:_-]{0,130}"]) {
            if let Ok(subject) = Subject::parse(&raw) {
                prop_assert_eq!(subject.as_str(), raw.as_str());
                let json = serde_json::to_value(&subject).expect("serializes");
                prop_assert_eq!(serde_json::from_value::<Subject>(json).ok(), Some(subject));
            }
        }

        #[test]
        fn review_ids_parse_any_text_and_round_trip(
            raw in prop_oneof![text(), "[0-9a-fA-F-]{36}", "\\{?[0-9a-f]{32}\\}?"],
        ) {
            if let Ok(id) = ReviewId::parse(&raw) {
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert_eq!(ReviewId::parse(id.as_str()), Ok(id.clone()));
                let json = serde_json::to_value(&id).expect("serializes");
                prop_assert_eq!(serde_json::from_value::<ReviewId>(json).ok(), Some(id));
            }
        }

        #[test]
        fn new_review_ids_are_review_ids(_ in 0..10u8) {
            let id = ReviewId::new();
            prop_assert_eq!(ReviewId::parse(id.as_str()), Ok(id));
        }

        #[test]
        fn stars_are_one_to_five(n in any::<u8>()) {
            match Stars::try_from(n) {
                Ok(stars) => {
                    prop_assert!((1..=5).contains(&n));
                    let json = serde_json::to_value(stars).expect("serializes");
                    prop_assert_eq!(serde_json::from_value::<Stars>(json).ok(), Some(stars));
                }
                Err(_) => prop_assert!(!(1..=5).contains(&n)),
            }
        }

        #[test]
        fn excerpts_are_the_start_of_the_body(body in prop_oneof![text(), "(?s).{190,260}"]) {
            let excerpt = excerpt(&body);
            let chars = body.chars().count();
            prop_assert!(excerpt.chars().count() <= EXCERPT_CHARS + 1);
            if chars <= EXCERPT_CHARS {
                prop_assert_eq!(excerpt, body);
            } else {
                let start = excerpt.strip_suffix('…').expect("cut with …");
                prop_assert!(body.starts_with(start));
            }
        }

        #[test]
        fn averages_are_between_one_and_five_with_two_decimals(
            histogram in prop::array::uniform5(0u64..1_000_000_000),
        ) {
            let summary = Tally { histogram, review_count: 0 };
            let average = summary.average();
            if summary.count() == 0 {
                prop_assert_eq!(average, 0.0);
            } else {
                prop_assert!((1.0..=5.0).contains(&average), "{}", average);
                prop_assert!(((average * 100.0).round() - average * 100.0).abs() < 1e-6);
            }
        }

        #[test]
        fn review_bodies_are_parsed_or_refused(
            review in body_of(&["subject", "title", "body"]),
            photo in body_of(&["contentType", "contentLength"]),
            rating in body_of(&["stars"]),
        ) {
            let _ = parse_json::<NewReview>(review.to_string().as_bytes());
            let _ = parse_json::<ReviewChanges>(review.to_string().as_bytes());
            if let Ok(request) = parse_json::<PhotoRequest>(photo.to_string().as_bytes()) {
                prop_assert!((1..=MAX_PHOTO_BYTES).contains(&u32::from(request.content_length)));
            }
            if let Ok(request) = parse_json::<RatingRequest>(rating.to_string().as_bytes()) {
                prop_assert!((1..=5).contains(&request.stars.get()));
            }
        }
    }
}
