//! One module per dashboard page, each with the server functions its forms post to.
pub mod audit;
pub mod bandwidth;
pub mod devices;
pub mod files;
pub mod login;
pub mod overview;
pub mod schedules;
pub mod selective;
pub mod settings;
pub mod storage;
mod tokens;
pub mod users;

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// A small complete page outside the app's routes (a refusal, a 404): the same
/// stylesheet and favicon, a message, and a way back.
fn plain_page(status: StatusCode, title: &str, message: &str, back: (&str, &str)) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Ferry</title><link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/assets/ferry.css\"></head><body>\
         <main id=\"content\" class=\"login-box\"><section class=\"panel\"><h1>{title}</h1>\
         <p id=\"message\">{message}</p><p><a href=\"{href}\">{label}</a></p></section></main></body></html>",
        title = escape(title),
        message = escape(message),
        href = escape(back.0),
        label = escape(back.1),
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// 403 for a signed-in user on an admin page.
pub(crate) fn not_for_you(username: &str) -> Response {
    plain_page(
        StatusCode::FORBIDDEN,
        "Admins only",
        &format!("This page is for administrators, and {username} is not one."),
        ("/files", "Go to My files"),
    )
}

/// 404 for a page that does not exist.
pub fn not_found_page() -> Response {
    plain_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
        ("/", "Go to the dashboard"),
    )
}

/// Whether an unknown address was asked for by a browser wanting a page (a
/// `GET` accepting HTML, outside the API's paths), so it gets [`not_found_page`]
/// instead of the API's JSON error.
pub fn wants_page(
    method: &axum::http::Method,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> bool {
    let api = ["/api/", "/graphql", "/webdav", "/dashboard/fn/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    method == axum::http::Method::GET
        && !api
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// `2026-11-25T06:45:18.123+00:00` → `2026-11-25 06:45:18 UTC`.
pub(crate) fn when(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_owned())
}

/// `value` percent-encoded for a URL's query (`/a b&c` → `%2Fa%20b%26c`).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The last segment of a path, for people: `/Photos/a.jpg` → `a.jpg`.
pub(crate) fn name_of(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("/")
}

/// A byte count for people: `1.5 GiB`.
pub(crate) fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_browsers_asking_for_pages_get_the_html_404() {
        use axum::http::{HeaderMap, HeaderValue, Method, header};
        let mut browser = HeaderMap::new();
        browser.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(super::wants_page(&Method::GET, "/nowhere", &browser));
        assert!(!super::wants_page(&Method::GET, "/api/nowhere", &browser));
        assert!(!super::wants_page(&Method::POST, "/nowhere", &browser));
        assert!(!super::wants_page(
            &Method::GET,
            "/nowhere",
            &HeaderMap::new()
        ));
    }

    #[test]
    fn times_and_sizes_read_well() {
        assert_eq!(
            super::when("2026-11-25T06:45:18.5+00:00"),
            "2026-11-25 06:45:18 UTC"
        );
        assert_eq!(super::when("soon"), "soon");
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(3 << 29), "1.5 GiB");
        assert_eq!(super::encode("/a b&c/é"), "%2Fa%20b%26c%2F%C3%A9");
        assert_eq!(super::name_of("/Photos/a.jpg"), "a.jpg");
        assert_eq!(super::name_of("/"), "/");
    }
}
