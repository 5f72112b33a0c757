//! Form errors: what a server function answers when a post fails, carried back to the
//! page (no JavaScript needed: Leptos redirects to the form's page with the error in the
//! query) and shown next to the field it is about.
use leptos::{
    prelude::*,
    server_fn::{
        codec::JsonEncoding,
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
use serde::{Deserialize, Serialize};

/// A failed form post: the field it is about (a form input's `name`), if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    /// An error about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// An error about the whole form.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }

    /// An API error: the field is the one its message names (`throttle_start_hour must
    /// be 0–23`) or its code names (`invalid_time_of_day`).
    pub fn from_api(code: &str, message: &str) -> Self {
        let named = message
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|word| word.contains('_') && FIELDS.contains(word));
        let from_code = code.strip_prefix("invalid_").filter(|f| FIELDS.contains(f));
        Self {
            field: named.or(from_code).map(str::to_owned),
            message: message.to_owned(),
        }
    }
}

/// Form fields errors may name (the API's snake_case field names are the inputs' names).
const FIELDS: &[&str] = &[
    "time_of_day",
    "day_of_week",
    "day_of_month",
    "timezone",
    "schedule_type",
    "debounce_seconds",
    "resolve_conflicts",
    "upload_speed_limit",
    "download_speed_limit",
    "throttle_start_hour",
    "throttle_end_hour",
    "path",
    "paths",
    "folders",
    "username",
    "password",
];

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl FromServerFnError for FormError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) => {
                FormError::general(format!("the form was incomplete: {message}"))
            }
            other => FormError::general(other.to_string()),
        }
    }
}

/// The error of the last post of `action`, if it failed.
pub fn error_of<S>(action: ServerAction<S>) -> Option<FormError>
where
    S: leptos::server_fn::ServerFn<Error = FormError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    action.value().with_untracked(|value| {
        value
            .as_ref()
            .and_then(|result| result.as_ref().err().cloned())
    })
}

/// The message for `field`, shown under its input.
#[component]
pub fn FieldError(error: Option<FormError>, field: &'static str) -> impl IntoView {
    error
        .filter(|e| e.field.as_deref() == Some(field))
        .map(|e| {
            view! {
                <p class="field-error" id=format!("{field}-error") role="alert">
                    {e.message}
                </p>
            }
        })
}

/// A form-wide error (one not about a single field), shown above the form.
#[component]
pub fn FormNotice(error: Option<FormError>) -> impl IntoView {
    error.filter(|e| e.field.is_none()).map(|e| {
        view! {
            <p class="notice bad" role="alert">
                {e.message}
            </p>
        }
    })
}

/// `Some(n)` for a non-empty number, `None` for an empty field, an error naming the field otherwise.
pub fn optional_number(field: &str, raw: &str) -> Result<Option<i64>, FormError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| FormError::field(field, format!("{raw:?} is not a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_find_their_field_by_message_or_code() {
        let e = FormError::from_api("invalid_throttle_hour", "throttle_end_hour must be 0–23");
        assert_eq!(e.field.as_deref(), Some("throttle_end_hour"));
        let e = FormError::from_api("invalid_time_of_day", "expected HH:MM");
        assert_eq!(e.field.as_deref(), Some("time_of_day"));
        let e = FormError::from_api("not_found", "device not found");
        assert_eq!(e.field, None);
    }

    #[test]
    fn numbers_are_optional_but_must_be_numbers() {
        assert_eq!(optional_number("x", " ").expect("empty"), None);
        assert_eq!(optional_number("x", "12").expect("n"), Some(12));
        assert_eq!(
            optional_number("x", "fast")
                .expect_err("bad")
                .field
                .as_deref(),
            Some("x")
        );
    }
}
