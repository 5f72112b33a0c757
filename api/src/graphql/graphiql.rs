//! `GET /graphql`: GraphiQL, served entirely by Ferry (React, React DOM and
//! GraphiQL vendored unmodified under `api/assets/graphiql/`, with their
//! licences), so it works on a server without internet. It runs queries as the
//! dashboard's signed-in user: `POST /graphql` accepts the session cookie on a
//! same-origin request, under the same rules as the dashboard's forms.
use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

const PAGE: &str = "<!DOCTYPE html>\
<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>GraphiQL · Ferry</title>\
<link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\
<link rel=\"stylesheet\" href=\"/assets/graphiql/graphiql.min.css\">\
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>\
</head><body><div id=\"graphiql\">Loading GraphiQL…</div>\
<script src=\"/assets/graphiql/react.production.min.js\"></script>\
<script src=\"/assets/graphiql/react-dom.production.min.js\"></script>\
<script src=\"/assets/graphiql/graphiql.min.js\"></script>\
<script src=\"/assets/graphiql/init.js\"></script>\
</body></html>";

/// Scripts only from this origin; GraphiQL sets inline styles, so styles may be inline.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The GraphiQL page.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
        .into_response()
}

/// The vendored files, by name (nothing else is served from here).
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match name.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "init.js" => (
            include_bytes!("../../assets/graphiql/init.js"),
            "text/javascript; charset=utf-8",
        ),
        "LICENSES.txt" => (
            include_bytes!("../../assets/graphiql/LICENSES.txt"),
            "text/plain; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(kind)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}
