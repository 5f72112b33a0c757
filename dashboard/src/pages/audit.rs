//! The audit log, newest first, a page at a time (the API's cursor).
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    operations::{AuditLog, audit_log},
    pages::when,
};

#[component]
pub fn AuditPage() -> impl IntoView {
    let api = Api::here();
    let after = use_query_map().get_untracked().get("after");
    view! {
        <Layout title="Audit log" current="/audit">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, after) = (api.clone(), after.clone());
                    Suspend::new(async move {
                        let first_page = after.is_none();
                        match api.run::<AuditLog>(audit_log::Variables { after }).await {
                            Ok(data) => page(data, first_page),
                            Err(e) => load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn page(data: audit_log::ResponseData, first_page: bool) -> AnyView {
    let log = data.audit_log;
    let next = log
        .page_info
        .has_next_page
        .then_some(log.page_info.end_cursor)
        .flatten();
    view! {
        <section class="panel">
            <div class="table-wrap">
                <table id="audit">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"On"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {log
                            .nodes
                            .into_iter()
                            .map(|e| {
                                view! {
                                    <tr data-entry-id=e.id>
                                        <td>{when(&e.at)}</td>
                                        <td>{e.actor}</td>
                                        <td class="mono">{e.action}</td>
                                        <td class="mono">
                                            {format!(
                                                "{} {}",
                                                e.target_type,
                                                e.target_id.unwrap_or_default(),
                                            )}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <nav class="pager" aria-label="Audit log pages">
                {(!first_page).then(|| view! { <a href="/audit" id="first-page">"← Newest"</a> })}
                {next
                    .map(|cursor| {
                        view! {
                            <a href=format!("/audit?after={}", urlencode(&cursor)) id="next-page">
                                "Older →"
                            </a>
                        }
                    })}
            </nav>
        </section>
    }
    .into_any()
}

/// Percent-encode a cursor for a query string.
fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
