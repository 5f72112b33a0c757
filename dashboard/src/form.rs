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

/// A failed form post: the field it is about (a form input's `name`), if any, and
/// what was typed into the form's other fields, so the page shows them again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
    /// `(input name, value)` as posted; never a password.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<(String, String)>,
}

impl FormError {
    /// An error about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
            kept: Vec::new(),
        }
    }

    /// An error about the whole form.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
            kept: Vec::new(),
        }
    }

    /// The same error, carrying what was typed so the form can be shown again with it.
    pub fn keeping(mut self, values: &[(&str, &str)]) -> Self {
        self.kept = values
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        self
    }

    /// What was typed into `name`, if this error kept it.
    pub fn kept(&self, name: &str) -> Option<&str> {
        self.kept
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The value a form's input `name` shows: what was typed before `error`, else `fallback`.
pub fn typed(error: Option<&FormError>, name: &str, fallback: impl Into<String>) -> String {
    error
        .and_then(|e| e.kept(name))
        .map_or_else(|| fallback.into(), str::to_owned)
}

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
    fn an_error_keeps_what_was_typed() {
        let error =
            FormError::field("time_of_day", "bad").keeping(&[("timezone", "Europe/Berlin")]);
        let round: FormError =
            serde_json::from_str(&serde_json::to_string(&error).expect("json")).expect("back");
        assert_eq!(typed(Some(&round), "timezone", "UTC"), "Europe/Berlin");
        assert_eq!(typed(Some(&round), "device", "x"), "x");
        assert_eq!(typed(None, "timezone", "UTC"), "UTC");
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
