//! Sign in and sign out (every enabled user; admins see more pages).
use leptos::prelude::*;

use crate::{
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, typed},
    operations::{Login, Logout, login, logout},
    session::session_cookie,
};

/// Check the credentials through the API's `login`; the session cookie holds the
/// token it issues. Admins land on the overview, users on their files.
#[server(name = LoginFn, prefix = "/dashboard/fn", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), FormError> {
    let api = Api::here();
    let typed_name = username.clone();
    if username.trim().is_empty() {
        return Err(FormError::field("username", "Enter your username."));
    }
    let answer = api
        .run::<Login>(login::Variables { username, password })
        .await
        .map_err(|e| match e.code.as_str() {
            "unauthorized" => FormError::general("Wrong username or password."),
            _ => e.into(),
        })
        .map_err(|e| e.keeping(&[("username", typed_name.as_str())]))?;
    let token = answer.login.token;
    let admin = matches!(answer.login.user.role, login::Role::ADMIN);
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::SET_COOKIE,
            session_cookie(Some(&token), api.secure_cookies()),
        );
    }
    leptos_axum::redirect(if admin { "/" } else { "/files" });
    Ok(())
}

/// Revoke the session's token and drop the cookie.
#[server(name = LogoutFn, prefix = "/dashboard/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), FormError> {
    let api = Api::here();
    let _ = api.run::<Logout>(logout::Variables).await;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::SET_COOKIE,
            session_cookie(None, api.secure_cookies()),
        );
    }
    leptos_axum::redirect("/login");
    Ok(())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LoginFn>::new();
    let error = error_of(action);
    view! {
        <main id="content" class="login-box">
            <section class="panel">
                <h1>"Ferry"</h1>
                <FormNotice error=error.clone() />
                <ActionForm action=action>
                    <div class="stack-form">
                        <div class="field">
                            <label for="username">"Username"</label>
                            <input
                                id="username"
                                name="username"
                                autocomplete="username"
                                required
                                autofocus
                                value=typed(error.as_ref(), "username", "")
                            />
                            <FieldError error=error.clone() field="username" />
                        </div>
                        <div class="field">
                            <label for="password">"Password"</label>
                            <input
                                id="password"
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required
                            />
                        </div>
                        <button type="submit" id="sign-in">
                            "Sign in"
                        </button>
                    </div>
                </ActionForm>
            </section>
        </main>
    }
}
