//! An article as stored, its summary (in the article item and in every
//! list entry), and the lists it appears in.

use crate::domain::{Article, ArticleSummary, Tag, UserId};
use crate::store::Item;
use crate::store::error::{Result, StoreError};
use crate::store::item::{n, number, optional_parsed, parsed, parsed_list, s, timestamp};
use crate::store::keys::{
    ALL_ARTICLES, ARTICLE, article_pk, articles_by_author, articles_by_tag,
    articles_by_tag_and_author,
};
use crate::store::schema::{PK, SK};
use crate::store::write::entry;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeSet;

/// Which articles a listing wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticleFilter {
    pub tag: Option<Tag>,
    pub author: Option<UserId>,
}

impl ArticleFilter {
    /// The partition that lists exactly these articles.
    pub fn partition(&self) -> String {
        match (&self.tag, &self.author) {
            (None, None) => ALL_ARTICLES.to_owned(),
            (None, Some(author)) => articles_by_author(author),
            (Some(tag), None) => articles_by_tag(tag),
            (Some(tag), Some(author)) => articles_by_tag_and_author(tag, author),
        }
    }
}

/// Every list an article appears in.
pub(in crate::store) fn lists_of(article: &ArticleSummary) -> BTreeSet<String> {
    let author = Some(article.author.clone());
    let mut lists = BTreeSet::from([
        ArticleFilter::default().partition(),
        ArticleFilter {
            tag: None,
            author: author.clone(),
        }
        .partition(),
    ]);
    for tag in article.tags.iter() {
        let tag = Some(tag.clone());
        lists.insert(
            ArticleFilter {
                tag: tag.clone(),
                author: None,
            }
            .partition(),
        );
        lists.insert(
            ArticleFilter {
                tag,
                author: author.clone(),
            }
            .partition(),
        );
    }
    lists
}

/// Entries sort newest first when queried in descending order.
pub(in crate::store) fn entry_sk(article: &ArticleSummary) -> String {
    format!("{}#{}", article.created_at.as_str(), article.slug.as_str())
}

/// An article as stored, with its version for optimistic concurrency.
#[derive(Clone, Debug)]
pub struct ArticleRecord {
    pub article: Article,
    pub(in crate::store) version: u64,
}

/// An article's summary as stored, in the article item and in every entry.
pub(in crate::store) fn summary_attributes(summary: &ArticleSummary) -> Item {
    let tags = summary.tags.iter().map(|tag| s(tag.as_str())).collect();
    let mut item = Item::from([
        ("slug".to_owned(), s(summary.slug.as_str())),
        ("title".to_owned(), s(summary.title.as_str())),
        ("subtitle".to_owned(), s(summary.subtitle.as_str())),
        ("tags".to_owned(), AttributeValue::L(tags)),
        ("author".to_owned(), s(summary.author.as_str())),
        ("createdAt".to_owned(), s(summary.created_at.as_str())),
        ("updatedAt".to_owned(), s(summary.updated_at.as_str())),
    ]);
    if let Some(url) = &summary.image {
        item.insert("image".to_owned(), s(url.as_str()));
    }
    item
}

pub(in crate::store) fn to_item(article: &Article, version: u64) -> Item {
    let mut item = summary_attributes(&article.summary);
    item.extend([
        (PK.to_owned(), s(article_pk(&article.summary.slug))),
        (SK.to_owned(), s(ARTICLE)),
        ("body".to_owned(), s(article.body.as_str())),
        ("version".to_owned(), n(version)),
    ]);
    item
}

/// The entry of `article` in `list`.
pub(in crate::store) fn entry_in(list: &str, summary: &ArticleSummary) -> Item {
    entry(
        list,
        &entry_sk(summary),
        &article_pk(&summary.slug),
        &summary_attributes(summary),
    )
}

/// An article's summary, from the article item or from one of its entries.
/// Articles written before contract v2 are read under their v1 names
/// (`description`, `coverImageUrl`); their next write stores the v2 ones.
pub(in crate::store) fn summary_from_item(item: &Item) -> Result<ArticleSummary> {
    let tags: Vec<Tag> = parsed_list(item, "tags")?;
    let v1 = item.contains_key("description");
    let (subtitle, image) = if v1 {
        ("description", "coverImageUrl")
    } else {
        ("subtitle", "image")
    };
    Ok(ArticleSummary {
        slug: parsed(item, "slug")?,
        title: parsed(item, "title")?,
        subtitle: parsed(item, subtitle)?,
        tags: tags
            .try_into()
            .map_err(|_| StoreError::corrupt("too many `tags`"))?,
        author: parsed(item, "author")?,
        image: optional_parsed(item, image)?,
        created_at: timestamp(item, "createdAt")?,
        updated_at: timestamp(item, "updatedAt")?,
    })
}

pub(in crate::store) fn from_item(item: &Item) -> Result<ArticleRecord> {
    Ok(ArticleRecord {
        article: Article {
            summary: summary_from_item(item)?,
            body: parsed(item, "body")?,
        },
        version: number(item, "version")?,
    })
}
