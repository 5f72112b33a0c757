//! The page shell, the routes and the layout every page shares.
use axum::Router;
use leptos::{config::LeptosOptions, nonce::use_nonce, prelude::*};
use leptos_axum::{LeptosRoutes, ResponseOptions, generate_route_list};
use leptos_router::{
    SsrMode,
    components::{Route, Router as PageRouter, Routes},
    path,
};

use crate::{
    Dashboard,
    pages::{
        audit, bandwidth, devices, files, login, overview, schedules, selective, settings, storage,
        users,
    },
    session::{self, Session},
};

/// The pages and server functions, behind the admin check.
pub(crate) fn router(dashboard: Dashboard) -> Router {
    let options = LeptosOptions::builder()
        .output_name("ferry-dashboard")
        .build();
    let routes = generate_route_list(App);
    let context = {
        let dashboard = dashboard.clone();
        move || {
            provide_context(dashboard.clone());
            leptos::nonce::provide_nonce();
        }
    };
    Router::<LeptosOptions>::new()
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .with_state(options)
        .layer(axum::middleware::from_fn_with_state(
            dashboard,
            session::require_session,
        ))
}

/// The whole document: complete HTML, no hydration (there is no WebAssembly); one
/// small ES module adds live updates.
fn shell(_options: LeptosOptions) -> impl IntoView {
    let nonce = use_nonce().map(|n| n.to_string());
    if let Some(response) = use_context::<ResponseOptions>()
        && let Ok(value) = session::content_security_policy(nonce.as_deref()).parse()
    {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>{page_title()}</title>
                <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href="/assets/ferry.css" />
                <script type="module" src="/assets/live.js"></script>
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
fn App() -> impl IntoView {
    view! {
        <PageRouter>
            <Routes fallback=|| "Page not found">
                <Route path=path!("/login") view=login::LoginPage ssr=SsrMode::Async />
                <Route path=path!("/") view=overview::OverviewPage ssr=SsrMode::Async />
                <Route path=path!("/users") view=users::UsersPage ssr=SsrMode::Async />
                <Route
                    path=path!("/schedules")
                    view=schedules::SchedulesPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/selective")
                    view=selective::SelectivePage
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/bandwidth")
                    view=bandwidth::BandwidthPage
                    ssr=SsrMode::Async
                />
                <Route path=path!("/audit") view=audit::AuditPage ssr=SsrMode::Async />
                <Route path=path!("/storage") view=storage::StoragePage ssr=SsrMode::Async />
                <Route path=path!("/files") view=files::FilesPage ssr=SsrMode::Async />
                <Route path=path!("/devices") view=devices::DevicesPage ssr=SsrMode::Async />
                <Route
                    path=path!("/settings")
                    view=settings::SettingsPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </PageRouter>
    }
}

/// Every page: its address, its name in the navigation and the tab, and whether
/// only admins see it.
const NAV: &[(&str, &str, bool)] = &[
    ("/", "Overview", true),
    ("/users", "Users & devices", true),
    ("/schedules", "Schedules", true),
    ("/selective", "Selective sync", true),
    ("/bandwidth", "Bandwidth", true),
    ("/audit", "Audit log", true),
    ("/storage", "Storage", true),
    ("/files", "My files", false),
    ("/devices", "My devices", false),
    ("/settings", "My settings", false),
];

/// The tab's title for the page being rendered: `Schedules · Ferry`.
fn page_title() -> String {
    let path = use_context::<axum::http::request::Parts>()
        .map(|parts| parts.uri.path().to_owned())
        .unwrap_or_default();
    match path.as_str() {
        "/login" => "Sign in · Ferry".to_owned(),
        _ => NAV
            .iter()
            .find(|(href, _, _)| *href == path)
            .map(|(_, label, _)| format!("{label} · Ferry"))
            .unwrap_or_else(|| "Ferry".to_owned()),
    }
}

/// Navigation, the signed-in admin with a sign-out button, and the page's content.
#[component]
pub(crate) fn Layout(
    title: &'static str,
    current: &'static str,
    children: Children,
) -> impl IntoView {
    let logout = ServerAction::<login::LogoutFn>::new();
    let session = Session::current();
    let admin = session.as_ref().is_some_and(|s| s.admin);
    let who = session.map(|s| s.username).unwrap_or_default();
    view! {
        <a class="skip" href="#content">
            "Skip to content"
        </a>
        <header class="top">
            <a class="brand" href="/">
                "Ferry"
            </a>
            <details class="menu">
                <summary>"Menu"</summary>
            <nav aria-label="Main">
                <ul>
                    {NAV
                        .iter()
                        .filter(|(_, _, only_admins)| admin || !only_admins)
                        .map(|(href, label, _)| {
                            let here = (*href == current).then_some("page");
                            view! {
                                <li>
                                    <a href=*href aria-current=here>
                                        {*label}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            </details>
            <div class="who">
                <a href="/graphql" id="graphiql-link" title="Run GraphQL queries as yourself">
                    "GraphiQL"
                </a>
                <span id="signed-in-as">{who}</span>
                <ActionForm action=logout>
                    <button type="submit">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
        <main id="content">
            <h1>{title}</h1>
            {children()}
        </main>
    }
}

/// A failed load, said plainly.
pub(crate) fn load_error(error: impl std::fmt::Display) -> AnyView {
    view! {
        <p class="notice bad" role="alert">
            {format!("Could not load this page: {error}")}
        </p>
    }
    .into_any()
}
