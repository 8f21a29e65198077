//! `GET /users/{id}/badge.svg`: a journeyer's progress as a small SVG badge
//! for the README of their Journey repository, in the flat style READMEs
//! already show (a grey label, a coloured value).

use std::fmt::Write;

/// The label: the challenge's name.
pub const LABEL: &str = "#100DaysOfCloud";

/// Roughly how wide a character of 11 px Verdana is, in tenths of a pixel
/// (the badge is sized from its text; nothing here measures fonts).
const CHAR_WIDTH_DECI: usize = 70;
/// Space either side of each text.
const PADDING: usize = 6;

/// The value the badge shows: `N/100`, and the streak when there is one.
pub fn value(days: u64, streak: u64) -> String {
    match streak {
        0 => format!("{days}/100"),
        1 => format!("{days}/100 · 1 day streak"),
        n => format!("{days}/100 · {n} day streak"),
    }
}

/// The badge: `#100DaysOfCloud | 42/100 · 7 day streak`, green once all
/// 100 days are documented, blue before, grey with none. Every text is
/// XML-escaped (the label and the value are ours, the title holds the
/// user's id; escaped all the same).
pub fn svg(user: &str, days: u64, streak: u64) -> String {
    let value = value(days, streak);
    let colour = match days {
        0 => "#9f9f9f",
        100.. => "#4c1",
        _ => "#007ec6",
    };
    let label_width = text_width(LABEL) + 2 * PADDING;
    let value_width = text_width(&value) + 2 * PADDING;
    let width = label_width + value_width;
    let title = format!("{user}: {LABEL} {value}");
    let mut out = String::with_capacity(1024);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}"><title>{title}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{value_width}" height="20" fill="{colour}"/><rect width="{width}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{label_x}" y="14">{label}</text><text x="{value_x}" y="14">{value}</text></g></svg>"##,
        title = escape(&title),
        label = escape(LABEL),
        value = escape(&value),
        label_x = label_width / 2,
        value_x = label_width + value_width / 2,
    );
    out
}

/// How wide `text` is drawn, in whole pixels (rounded up).
fn text_width(text: &str) -> usize {
    (text.chars().count() * CHAR_WIDTH_DECI).div_ceil(10)
}

/// `text` as XML character data or an attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_days_of_100_and_the_streak() {
        assert_eq!(value(0, 0), "0/100");
        assert_eq!(value(42, 1), "42/100 · 1 day streak");
        assert_eq!(value(42, 7), "42/100 · 7 day streak");
    }

    #[test]
    fn the_badge_is_one_svg_element_sized_to_its_text() {
        let badge = svg("alice", 42, 7);
        assert!(badge.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width=""#));
        assert!(badge.ends_with("</svg>"));
        assert_eq!(badge.matches("<svg").count(), 1);
        assert!(badge.contains(">#100DaysOfCloud</text>"));
        assert!(badge.contains(">42/100 · 7 day streak</text>"));
        assert!(badge.contains("<title>alice: #100DaysOfCloud 42/100 · 7 day streak</title>"));
        // Wider for a longer value.
        let width = |badge: &str| -> usize {
            let start = badge.find("width=\"").expect("width") + 7;
            badge[start..]
                .split('"')
                .next()
                .expect("value")
                .parse()
                .expect("number")
        };
        assert!(width(&svg("alice", 100, 100)) > width(&svg("alice", 1, 0)));
        assert!(svg("alice", 100, 0).contains("#4c1"));
        assert!(svg("alice", 0, 0).contains("#9f9f9f"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        let badge = svg("<script>", 1, 1);
        assert!(!badge.contains("<script>"), "{badge}");
        assert!(badge.contains("&lt;script&gt;"));
    }
}
