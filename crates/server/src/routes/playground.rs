//! `GET /` and `/playground/{file}`: the browser playground, plain HTML/CSS/JS embedded in the
//! binary (works offline, no CDN). The page holds no data, so it needs no API key; the API it
//! calls does. A strict CSP (no inline script, same-origin only) backs up the page's own rule
//! of never turning model text into HTML.

use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const INDEX: &str = include_str!("../../assets/playground/index.html");
const APP_JS: &str = include_str!("../../assets/playground/app.js");
const MARKDOWN_JS: &str = include_str!("../../assets/playground/markdown.js");
const STYLE: &str = include_str!("../../assets/playground/style.css");

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

/// Browsers ask for it on every page; an empty answer keeps their consoles clean.
pub async fn favicon() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

pub async fn file(Path(name): Path<String>) -> Result<Response, ApiError> {
    match name.as_str() {
        "app.js" => Ok(asset(APP_JS, "text/javascript; charset=utf-8")),
        "markdown.js" => Ok(asset(MARKDOWN_JS, "text/javascript; charset=utf-8")),
        "style.css" => Ok(asset(STYLE, "text/css; charset=utf-8")),
        _ => Err(ApiError::NotFound(format!("/playground/{name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_name_no_outside_url_and_no_inline_script() {
        for (name, text) in [("index.html", INDEX), ("app.js", APP_JS), ("markdown.js", MARKDOWN_JS), ("style.css", STYLE)] {
            for bad in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(bad), "{name} names an outside resource ({bad}); the page must work offline");
            }
            assert!(!text.contains("innerHTML") && !text.contains("outerHTML") && !text.contains("insertAdjacentHTML") && !text.contains("document.write"), "{name} builds HTML from strings; use DOM nodes and textContent");
        }
        // Inline handlers and inline scripts would be blocked by the CSP anyway; keep the page honest.
        assert!(!INDEX.contains("onclick=") && !INDEX.contains("<script>"), "index.html has inline script");
        assert!(INDEX.contains("src=\"/playground/app.js\""));
    }
}
