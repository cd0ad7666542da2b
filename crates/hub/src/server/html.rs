//! Safe HTML for the web pages: escaping, and Markdown rendering in which raw HTML from a card is
//! shown as text and links or images with script-capable URLs are neutralised. Pages also carry a
//! Content-Security-Policy that forbids scripts, so even a renderer bug cannot run one.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Only these schemes (or relative links) survive; `javascript:`, `data:`, `vbscript:` become `#`.
fn safe_url(u: CowStr<'_>) -> CowStr<'_> {
    let lower: String = u.trim().chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect::<String>().to_ascii_lowercase();
    let scheme = lower.split_once(':').map(|(s, _)| s).filter(|s| !s.contains('/') && !s.contains('?') && !s.contains('#'));
    match scheme {
        None | Some("http") | Some("https") | Some("mailto") => u,
        Some(_) => CowStr::Borrowed("#"),
    }
}

/// The card's Markdown body (front matter removed by the caller) as safe HTML.
pub fn markdown(md: &str) -> String {
    let events = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id }),
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => Event::Start(Tag::Image { link_type, dest_url: safe_url(dest_url), title, id }),
        e => e,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// README text without its YAML front matter.
pub fn card_body(readme: &str) -> &str {
    let t = readme.strip_prefix('\u{feff}').unwrap_or(readme);
    let Some(rest) = t.strip_prefix("---\n").or_else(|| t.strip_prefix("---\r\n")) else { return t };
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        pos += line.len();
        if line.trim_end() == "---" {
            return &rest[pos..];
        }
    }
    t
}

pub fn human_size(n: u64) -> String {
    const U: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < U.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 { format!("{n} B") } else { format!("{v:.1} {}", U[i]) }
}

pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; form-action 'self'";

pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{} - agora hub</title>\
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}}a{{color:#1a5fb4}}\
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left}}\
.banner{{padding:.6em 1em;border-radius:6px;margin:.6em 0}}.license{{background:#eef5ff}}.gated{{background:#fff3cd}}\
.card{{border:1px solid #ddd;border-radius:6px;padding:0 1em;margin:1em 0}}.muted{{color:#777}}code{{background:#f4f4f4}}</style></head>\
<body><header><a href=\"/\">agora hub</a></header>{body}</body></html>",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_in_cards_stay_inert() {
        let h = markdown("# Title\n\n<script>alert(1)</script>\n\nHi <img src=x onerror=alert(2)> [a](javascript:alert(3)) [b]( JavaScript:alert(4)) ![c](data:text/html,x) [ok](https://example.com)\n");
        assert!(h.contains("<h1>Title</h1>"), "{h}");
        assert!(!h.contains("<script") && h.contains("&lt;script&gt;"), "{h}");
        assert!(!h.contains("<img src=\"x\"") && !h.contains("<img src=x"), "{h}");
        assert!(!h.contains("href=\"javascript") && !h.contains("href=\" JavaScript") && !h.contains("src=\"data:"), "{h}");
        assert!(h.contains("href=\"https://example.com\""), "{h}");
        assert_eq!(esc("<a href=\"x\">'&"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
    }

    #[test]
    fn strips_front_matter() {
        assert_eq!(card_body("---\nlicense: mit\n---\n# Hi\n"), "# Hi\n");
        assert_eq!(card_body("# No meta\n"), "# No meta\n");
        assert_eq!(human_size(1_500_000), "1.5 MB");
    }
}
