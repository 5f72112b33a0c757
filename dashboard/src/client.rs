//! The dashboard's way into the public API: the server injects a [`GraphqlApi`]; the
//! pages and server functions run typed operations through it as the signed-in admin.
use futures_util::future::BoxFuture;
use graphql_client::GraphQLQuery;
use leptos::prelude::*;

use crate::{Dashboard, form::FormError, session::Session};

/// Runs one GraphQL request against Ferry's schema as the holder of `token`
/// (`None`: anonymous, for `login`). An invalid token answers a GraphQL error with
/// `extensions.code = "unauthorized"`. `http` holds the extensions of the HTTP
/// request being served (the server finds the client's address there, so a
/// failed sign-in on the dashboard counts against it as one on the API does).
pub trait GraphqlApi: Send + Sync + 'static {
    fn execute(
        &self,
        token: Option<String>,
        request: async_graphql::Request,
        http: axum::http::Extensions,
    ) -> BoxFuture<'static, async_graphql::Response>;
}

/// One error of a GraphQL answer: its message and `extensions.code`.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub code: String,
    pub message: String,
    /// The input the error is about (`extensions.field`), if any.
    pub field: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ApiError> for FormError {
    fn from(error: ApiError) -> Self {
        FormError {
            message: for_people(&error.code, &error.message),
            field: error.field,
            kept: Vec::new(),
        }
    }
}

/// The API's field names as a form's labels say them.
const LABELS: [(&str, &str); 11] = [
    ("throttle_start_hour", "the start hour"),
    ("throttle_end_hour", "the end hour"),
    ("upload_speed_limit", "the upload limit"),
    ("download_speed_limit", "the download limit"),
    ("time_of_day", "the time of day"),
    ("day_of_week", "the day of the week"),
    ("day_of_month", "the day of the month"),
    ("debounce_seconds", "the debounce"),
    ("resolve_conflicts", "the conflict choice"),
    ("schedule_type", "how often it runs"),
    ("timezone", "the time zone"),
];

/// An API message as a sentence for a form: field names become what the form calls
/// them (`throttle_start_hour must be 0–23` → `The start hour must be 0–23.`).
pub(crate) fn for_people(code: &str, message: &str) -> String {
    if code == "invalid_speed_limit" {
        return "Use a whole number of KiB/s above 0, or leave it empty for no limit.".into();
    }
    let mut text = message.to_owned();
    for (name, label) in LABELS {
        text = text.replace(name, label);
    }
    let mut chars = text.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return text,
    };
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_messages_read_as_sentences_with_the_forms_words() {
        assert_eq!(
            super::for_people("invalid_throttle_hour", "throttle_start_hour must be 0–23"),
            "The start hour must be 0–23."
        );
        assert_eq!(
            super::for_people(
                "invalid_throttle_hour",
                "give both throttle_start_hour and throttle_end_hour, or neither"
            ),
            "Give both the start hour and the end hour, or neither."
        );
        assert_eq!(super::for_people("x", "Done."), "Done.");
    }
}

fn internal(message: String) -> ApiError {
    ApiError {
        code: "internal".into(),
        message,
        field: None,
    }
}

/// Run operation `Q` through `api`: the request is built and the answer decoded by the
/// types `graphql_client` generated from the operation and the committed schema.
pub(crate) async fn execute<Q: GraphQLQuery>(
    api: &dyn GraphqlApi,
    token: Option<String>,
    http: axum::http::Extensions,
    variables: Q::Variables,
) -> Result<Q::ResponseData, ApiError> {
    let body = serde_json::to_value(Q::build_query(variables))
        .map_err(|e| internal(format!("encoding a GraphQL request: {e}")))?;
    let request: async_graphql::Request = serde_json::from_value(body)
        .map_err(|e| internal(format!("encoding a GraphQL request: {e}")))?;
    let response = api.execute(token, request, http).await;
    if let Some(error) = response.errors.first() {
        let extension = |name: &str| {
            error
                .extensions
                .as_ref()
                .and_then(|ext| ext.get(name))
                .and_then(|value| match value {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
        };
        return Err(ApiError {
            code: extension("code").unwrap_or_else(|| "invalid_input".into()),
            message: error.message.clone(),
            field: extension("field"),
        });
    }
    let data = serde_json::to_value(&response.data)
        .map_err(|e| internal(format!("decoding a GraphQL answer: {e}")))?;
    serde_json::from_value(data).map_err(|e| internal(format!("decoding a GraphQL answer: {e}")))
}

/// The API as seen by the request being served: its dashboard and its admin's token.
/// Take it synchronously at the top of a component or server function, then await.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    dashboard: Option<Dashboard>,
    token: Option<String>,
    /// The extensions of the HTTP request being served.
    http: axum::http::Extensions,
}

impl Api {
    /// As the signed-in admin of this request.
    pub fn here() -> Self {
        Self {
            dashboard: use_context::<Dashboard>(),
            token: Session::current().map(|s| s.token),
            http: use_context::<axum::http::request::Parts>()
                .map(|parts| parts.extensions)
                .unwrap_or_default(),
        }
    }

    /// Whether session cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.dashboard.as_ref().is_some_and(|d| d.secure_cookies)
    }

    /// Run operation `Q`.
    pub async fn run<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
    ) -> Result<Q::ResponseData, ApiError> {
        let dashboard = self
            .dashboard
            .as_ref()
            .ok_or_else(|| internal("the dashboard runs without its API".into()))?;
        execute::<Q>(
            dashboard.api.as_ref(),
            self.token.clone(),
            self.http.clone(),
            variables,
        )
        .await
    }
}
