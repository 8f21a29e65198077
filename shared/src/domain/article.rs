//! Articles and their tags.

use super::text::{
    Timestamp, checked_newtype, nullable, present, slugify, string_newtype, text_newtype,
};
use super::user::{UserId, WebUrl};
use serde::{Deserialize, Serialize};

/// At most this many tags on an article.
pub const MAX_TAGS: usize = 10;
/// Slugs are cut to this many characters before any suffix.
const SLUG_MAX: usize = 80;

/// An article's URL name: lowercase ASCII letters, digits and `-`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    fn check(raw: &str) -> Result<(), String> {
        let valid = (1..=SLUG_MAX + 8).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if valid {
            Ok(())
        } else {
            Err("must be a slug: lowercase letters, digits and '-'".into())
        }
    }

    /// The slug of a title: transliterated to ASCII, lowercase, `-` separated.
    pub fn from_title(title: &str) -> Self {
        let mut slug = slugify(title);
        slug.truncate(SLUG_MAX);
        let slug = slug.trim_end_matches('-');
        Self(if slug.is_empty() {
            "article".to_owned()
        } else {
            slug.to_owned()
        })
    }

    /// This slug with a suffix, for when it is taken.
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self(format!("{}-{suffix}", self.0))
    }
}

checked_newtype!(Slug);

/// A tag: `[a-z0-9-]{1,32}`, normalized like a slug from what was given
/// (`"Open System"` is `open-system`, `"AWS"` is `aws`, `"Día"` is `dia`).
/// What may be given is exactly what the OpenAPI document's `TagInput` says:
/// 1-32 characters, at least one of them an ASCII letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// At most this many characters, as given and once normalized.
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if length > Self::MAX {
            return Err(format!(
                "{raw:?} is {length} characters; a tag is at most {}",
                Self::MAX
            ));
        }
        if !raw.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "{raw:?} has no letter or digit (a-z, 0-9) to make a tag of"
            ));
        }
        // Transliteration may lengthen a few characters (`ß` is `ss`): cut
        // back to the limit, at a whole word where it falls on a `-`.
        let mut tag = slugify(raw);
        tag.truncate(Self::MAX);
        Ok(Self(tag.trim_end_matches('-').to_owned()))
    }
}

impl TryFrom<String> for Tag {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

string_newtype!(Tag);

/// An article's tags: normalized, de-duplicated (first spelling's position kept), at most 10.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<Tag>")]
pub struct Tags(Vec<Tag>);

/// At most this many tags may be sent, before de-duplication: a list longer
/// than this is refused once its next element is seen, without normalizing
/// that element or any after it, so a request normalizes at most this many.
pub const MAX_SENT_TAGS: usize = 4 * MAX_TAGS;

impl TryFrom<Vec<Tag>> for Tags {
    type Error = String;
    fn try_from(raw: Vec<Tag>) -> Result<Self, String> {
        if raw.len() > MAX_SENT_TAGS {
            return Err(too_many_sent());
        }
        // A set: linear in the tags sent, whatever repeats among them.
        let mut seen = std::collections::HashSet::with_capacity(raw.len());
        let tags: Vec<Tag> = raw
            .into_iter()
            .filter(|tag| seen.insert(tag.clone()))
            .collect();
        if tags.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags"));
        }
        Ok(Self(tags))
    }
}

fn too_many_sent() -> String {
    format!("at most {MAX_SENT_TAGS} tags may be sent ({MAX_TAGS} once de-duplicated)")
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Tags;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an array of at most {MAX_SENT_TAGS} tags")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Tags, A::Error> {
                let mut raw = Vec::new();
                loop {
                    if raw.len() == MAX_SENT_TAGS {
                        // One more element refuses the list, unread.
                        if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                            return Err(serde::de::Error::custom(too_many_sent()));
                        }
                        break;
                    }
                    match seq.next_element::<Tag>()? {
                        Some(tag) => raw.push(tag),
                        None => break,
                    }
                }
                Tags::try_from(raw).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

impl From<Tags> for Vec<Tag> {
    fn from(tags: Tags) -> Self {
        tags.0
    }
}

impl Tags {
    pub fn iter(&self) -> std::slice::Iter<'_, Tag> {
        self.0.iter()
    }

    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.contains(tag)
    }
}

text_newtype!(
    /// A title: 1-200 characters, not blank.
    Title, 1, 200
);
text_newtype!(
    /// A subtitle: at most 500 characters. A list page shows it for every
    /// article, so it is bounded to keep pages small.
    #[derive(Default)]
    Subtitle, 0, 500
);
text_newtype!(
    /// A body: at most 50,000 characters.
    #[derive(Default)]
    Body, 0, 50_000
);

/// What a list of articles shows of each: everything but the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleSummary {
    pub slug: Slug,
    pub title: Title,
    pub subtitle: Subtitle,
    pub tags: Tags,
    pub author: UserId,
    pub image: Option<WebUrl>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An article: its summary and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Article {
    pub summary: ArticleSummary,
    pub body: Body,
}

/// The JSON shape of an article (`body` only in the whole article).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArticleView<'a> {
    id: &'a str,
    slug: &'a str,
    title: &'a str,
    subtitle: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    tags: &'a Tags,
    author: &'a str,
    image: Option<&'a str>,
    created_at: &'a str,
    updated_at: &'a str,
}

impl<'a> ArticleView<'a> {
    fn of(summary: &'a ArticleSummary, body: Option<&'a Body>) -> Self {
        Self {
            id: summary.slug.as_str(),
            slug: summary.slug.as_str(),
            title: summary.title.as_str(),
            subtitle: summary.subtitle.as_str(),
            body: body.map(Body::as_str),
            tags: &summary.tags,
            author: summary.author.as_str(),
            image: summary.image.as_ref().map(WebUrl::as_str),
            created_at: summary.created_at.as_str(),
            updated_at: summary.updated_at.as_str(),
        }
    }
}

impl Serialize for ArticleSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ArticleView::of(self, None).serialize(serializer)
    }
}

impl Serialize for Article {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ArticleView::of(&self.summary, Some(&self.body)).serialize(serializer)
    }
}

/// The body of `POST /articles`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewArticle {
    pub title: Title,
    #[serde(default)]
    pub subtitle: Subtitle,
    #[serde(default)]
    pub body: Body,
    #[serde(default)]
    pub tags: Tags,
    pub image: Option<WebUrl>,
}

impl NewArticle {
    pub fn into_article(self, slug: Slug, author: UserId, now: Timestamp) -> Article {
        Article {
            summary: ArticleSummary {
                slug,
                title: self.title,
                subtitle: self.subtitle,
                tags: self.tags,
                author,
                image: self.image,
                created_at: now.clone(),
                updated_at: now,
            },
            body: self.body,
        }
    }
}

/// The body of `PUT /articles/{slug}`: a partial update. The slug, author and
/// times cannot be set; `null` clears the image.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArticleChanges {
    #[serde(default, deserialize_with = "present")]
    pub title: Option<Title>,
    #[serde(default, deserialize_with = "present")]
    pub subtitle: Option<Subtitle>,
    #[serde(default, deserialize_with = "present")]
    pub body: Option<Body>,
    #[serde(default, deserialize_with = "present")]
    pub tags: Option<Tags>,
    #[serde(default, deserialize_with = "nullable")]
    pub image: Option<Option<WebUrl>>,
}

impl ArticleChanges {
    pub fn apply(&self, article: &mut Article, now: Timestamp) {
        let summary = &mut article.summary;
        if let Some(title) = &self.title {
            summary.title = title.clone();
        }
        if let Some(subtitle) = &self.subtitle {
            summary.subtitle = subtitle.clone();
        }
        if let Some(tags) = &self.tags {
            summary.tags = tags.clone();
        }
        if let Some(image) = &self.image {
            summary.image = image.clone();
        }
        if let Some(body) = &self.body {
            article.body = body.clone();
        }
        summary.updated_at = now;
    }
}

/// A tag and how many articles carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub tag: Tag,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::parse_json;

    #[test]
    fn slugs_are_ascii_from_any_title() {
        let cases = [
            ("Hello, World!", "hello-world"),
            ("  Día 1: Café & Über  ", "dia-1-cafe-uber"),
            ("AWS Lambda + Rust = ❤", "aws-lambda-rust-heart"),
            ("北京", "bei-jing"),
            ("¿?!", "article"),
            ("---", "article"),
        ];
        for (title, slug) in cases {
            assert_eq!(Slug::from_title(title).as_str(), slug, "{title}");
        }
        let long = Slug::from_title(&"word ".repeat(50));
        assert!(long.as_str().len() <= 80 && !long.as_str().ends_with('-'));
        assert!(Slug::parse(long.with_suffix("x7k2p9").as_str()).is_ok());
    }

    #[test]
    fn tags_are_normalized_like_slugs_and_deduplicated() {
        let new: NewArticle = parse_json(
            br#"{"title":"t","tags":[" AWS ","aws","Open System","24 hour","serverless-2","D\u00eda"]}"#,
        )
        .expect("valid");
        let tags: Vec<&str> = new.tags.iter().map(Tag::as_str).collect();
        assert_eq!(
            tags,
            ["aws", "open-system", "24-hour", "serverless-2", "dia"]
        );
        for (raw, tag) in [
            ("open-system", "open-system"),
            ("C++", "c"),
            ("ünïcode", "unicode"),
        ] {
            assert_eq!(Tag::parse(raw).map(|t| t.0), Ok(tag.to_owned()), "{raw}");
        }
    }

    #[test]
    fn bad_tags_are_refused() {
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        let eleven = serde_json::json!({"title": "t", "tags": eleven}).to_string();
        for body in [
            r#"{"title":"t","tags":[""]}"#,
            r#"{"title":"t","tags":["  "]}"#,
            r#"{"title":"t","tags":["?!"]}"#,
            r#"{"title":"t","tags":"aws"}"#,
            &eleven,
        ] {
            assert!(parse_json::<NewArticle>(body.as_bytes()).is_err(), "{body}");
        }
        let long = format!(r#"{{"title":"t","tags":["{}"]}}"#, "a".repeat(33));
        assert!(parse_json::<NewArticle>(long.as_bytes()).is_err());
        let err = parse_json::<NewArticle>(br#"{"title":"t","tags":["ok","?!"]}"#)
            .expect_err("empty tag");
        assert!(format!("{err:?}").contains("tags[1]"), "{err:?}");
        let forty_one: Vec<String> = (0..41).map(|_| "aws".to_owned()).collect();
        let forty_one = serde_json::json!({"title": "t", "tags": forty_one}).to_string();
        let err = parse_json::<NewArticle>(forty_one.as_bytes()).expect_err("41 sent");
        assert!(
            format!("{err:?}").contains("at most 40 tags may be sent"),
            "{err:?}"
        );
        // The 41st is not even read as a tag: an invalid one is not what is refused.
        let mut forty_then_bad: Vec<String> = (0..40).map(|i| format!("t{}", i % 5)).collect();
        forty_then_bad.push("?!".into());
        let body = serde_json::json!({"title": "t", "tags": forty_then_bad}).to_string();
        let err = parse_json::<NewArticle>(body.as_bytes()).expect_err("41 sent");
        assert!(format!("{err:?}").contains("may be sent"), "{err:?}");
        let forty: Vec<String> = (0..40).map(|i| format!("T{}", i % 10)).collect();
        let forty = serde_json::json!({"title": "t", "tags": forty}).to_string();
        let ten = parse_json::<NewArticle>(forty.as_bytes()).expect("40 sent, 10 distinct");
        assert_eq!(ten.tags.iter().count(), 10);
        let same_eleven: Vec<String> = (0..11).map(|_| "Aws".to_owned()).collect();
        let same = serde_json::json!({"title": "t", "tags": same_eleven}).to_string();
        assert!(
            parse_json::<NewArticle>(same.as_bytes()).is_ok(),
            "ten after de-duplication"
        );
    }

    #[test]
    fn titles_and_bodies_are_bounded() {
        let long_title = format!(r#"{{"title":"{}"}}"#, "t".repeat(201));
        let long_body = format!(r#"{{"title":"t","body":"{}"}}"#, "b".repeat(50_001));
        for body in [
            r#"{"title":""}"#,
            r#"{"title":"  "}"#,
            r#"{}"#,
            &long_title,
            &long_body,
        ] {
            assert!(
                parse_json::<NewArticle>(body.as_bytes()).is_err(),
                "{}",
                &body[..20.min(body.len())]
            );
        }
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
        fn slugs_parse_any_text_and_round_trip(raw in text()) {
            if let Ok(slug) = Slug::parse(&raw) {
                prop_assert_eq!(slug.as_str(), raw.as_str());
                let json = serde_json::to_value(&slug).expect("serializes");
                prop_assert_eq!(serde_json::from_value::<Slug>(json).ok(), Some(slug));
            }
        }

        #[test]
        fn every_title_has_a_slug_and_a_suffixed_one(title in text(), suffix in "[a-z0-9]{6}") {
            let slug = Slug::from_title(&title);
            prop_assert_eq!(Slug::parse(slug.as_str()), Ok(slug.clone()));
            let suffixed = slug.with_suffix(&suffix);
            prop_assert_eq!(Slug::parse(suffixed.as_str()), Ok(suffixed));
        }

        #[test]
        fn tags_are_normalized_once_and_for_all(raw in text()) {
            if let Ok(tag) = Tag::parse(&raw) {
                prop_assert!((1..=Tag::MAX).contains(&tag.as_str().len()));
                prop_assert_eq!(Tag::parse(tag.as_str()), Ok(tag.clone()));
                let json = serde_json::to_value(&tag).expect("serializes");
                prop_assert_eq!(serde_json::from_value::<Tag>(json).ok(), Some(tag));
            }
        }

        #[test]
        fn tag_lists_are_distinct_bounded_and_round_trip(raw in prop::collection::vec(
            prop_oneof![text(), "[A-Za-z ]{1,6}"], 0..14,
        )) {
            if let Ok(tags) = serde_json::from_value::<Tags>(serde_json::json!(raw)) {
                let all: Vec<&Tag> = tags.iter().collect();
                prop_assert!(all.len() <= MAX_TAGS);
                for (i, tag) in all.iter().enumerate() {
                    prop_assert!(!all[..i].contains(tag));
                }
                let json = serde_json::to_value(&tags).expect("serializes");
                prop_assert_eq!(serde_json::from_value::<Tags>(json).ok(), Some(tags));
            }
        }

        #[test]
        fn article_text_parses_any_text_and_round_trips(raw in text()) {
            for ok in [
                Title::parse(&raw).map(String::from),
                Subtitle::parse(&raw).map(String::from),
                Body::parse(&raw).map(String::from),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert_eq!(ok, raw.clone());
            }
        }

        #[test]
        fn article_bodies_are_parsed_or_refused(
            body in body_of(&["title", "subtitle", "body", "tags", "image"]),
        ) {
            let bytes = body.to_string();
            if let Ok(new) = parse_json::<NewArticle>(bytes.as_bytes()) {
                let slug = Slug::from_title(new.title.as_str());
                let author = UserId::parse("alice").expect("id");
                let article = new.into_article(slug, author, crate::domain::Timestamp::now());
                let json = serde_json::to_value(&article).expect("serializes");
                prop_assert_eq!(&json["title"], &body["title"]);
            }
            let _ = parse_json::<ArticleChanges>(bytes.as_bytes());
        }
    }
}
