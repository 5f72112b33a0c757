//! The audit log, newest first, 20 entries a page with paging both ways (the API's
//! cursors), filtered by user, kind of action and dates; each entry names its target
//! and shows what changed (before → after).
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    operations::{AuditLog, audit_log},
    pages::{encode, when},
};

/// The kinds of action the filter offers (every `kind.*` action the server records).
const KINDS: [(&str, &str); 10] = [
    ("user", "Users"),
    ("login", "Sign-ins"),
    ("token", "Tokens"),
    ("device", "Devices"),
    ("selective_sync", "Selective sync"),
    ("bandwidth_limit", "Bandwidth limits"),
    ("schedule", "Schedules"),
    ("sync_run", "Sync runs"),
    ("upload", "Uploads"),
    ("file", "Files"),
];

/// The filters, as in the page's query.
#[derive(Clone, Debug, Default)]
struct Filters {
    user: String,
    action: String,
    /// `YYYY-MM-DD`, from the start of that day (UTC).
    since: String,
    /// `YYYY-MM-DD`, through the end of that day (UTC).
    until: String,
}

impl Filters {
    /// The filters as a query string, `&`-prefixed, for the paging links.
    fn query(&self) -> String {
        [
            ("user", &self.user),
            ("action", &self.action),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("&{k}={}", encode(v)))
        .collect()
    }
}

/// The start of `day` (`YYYY-MM-DD`) in UTC, `plus_days` later, as RFC 3339.
fn day_start(day: &str, plus_days: i64) -> Result<Option<String>, String> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("{day:?} is not a date (YYYY-MM-DD)"))?;
    let start = date
        .checked_add_signed(chrono::Duration::days(plus_days))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| format!("{day:?} is out of range"))?;
    Ok(Some(start.and_utc().to_rfc3339()))
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let get = |key: &str| query.get(key).filter(|v| !v.is_empty());
    let (after, before) = (get("after"), get("before"));
    let filters = Filters {
        user: get("user").unwrap_or_default(),
        action: get("action").unwrap_or_default(),
        since: get("since").unwrap_or_default(),
        until: get("until").unwrap_or_default(),
    };
    view! {
        <Layout title="Audit log" current="/audit">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, after, before, filters) = (
                        api.clone(),
                        after.clone(),
                        before.clone(),
                        filters.clone(),
                    );
                    Suspend::new(async move {
                        // A bad date is shown beside its field; the log is then shown
                        // without that bound.
                        let mut error = None;
                        let mut bound = |field: &'static str, raw: &str, plus_days| {
                            day_start(raw, plus_days).unwrap_or_else(|message| {
                                error.get_or_insert((field, message));
                                None
                            })
                        };
                        let since = bound("since", &filters.since, 0);
                        let until = bound("until", &filters.until, 1);
                        let variables = audit_log::Variables {
                            after,
                            before,
                            user_id: Some(filters.user.clone()).filter(|u| !u.is_empty()),
                            action: Some(filters.action.clone()).filter(|a| !a.is_empty()),
                            since,
                            until,
                        };
                        match api.run::<AuditLog>(variables).await {
                            Ok(data) => page(data, &filters, error),
                            Err(e) => load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn filter_form(
    users: &[audit_log::AuditLogUsers],
    filters: &Filters,
    error: Option<(&'static str, String)>,
) -> impl IntoView + use<> {
    let message = |field: &'static str| {
        error
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| view! { <p class="field-error" id=format!("{field}-error") role="alert">{m.clone()}</p> })
    };
    let user_options = users
        .iter()
        .map(|u| {
            view! {
                <option value=u.id.clone() selected=u.id == filters.user>
                    {u.username.clone()}
                </option>
            }
        })
        .collect_view();
    let kind_options = KINDS
        .iter()
        .map(|(value, label)| {
            view! {
                <option value=*value selected=*value == filters.action>
                    {*label}
                </option>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="filter-title">
            <h2 id="filter-title">"Filter"</h2>
            <form method="get" action="/audit" id="audit-filter">
                <div class="row">
                    <div class="field">
                        <label for="filter-user">"User"</label>
                        <select id="filter-user" name="user">
                            <option value="">"Anyone"</option>
                            {user_options}
                        </select>
                        <span class="hint">"by them or about them"</span>
                    </div>
                    <div class="field">
                        <label for="filter-action">"Action"</label>
                        <select id="filter-action" name="action">
                            <option value="">"Any"</option>
                            {kind_options}
                        </select>
                    </div>
                    <div class="field">
                        <label for="since">"From"</label>
                        <input type="date" id="since" name="since" value=filters.since.clone() />
                        {message("since")}
                    </div>
                    <div class="field">
                        <label for="until">"Until"</label>
                        <input type="date" id="until" name="until" value=filters.until.clone() />
                        <span class="hint">"inclusive, UTC"</span>
                        {message("until")}
                    </div>
                </div>
                <div class="row">
                    <button type="submit" id="apply-filter">"Show"</button>
                    <a href="/audit" id="clear-filter">"Clear"</a>
                </div>
            </form>
        </section>
    }
}

/// `before → after` for people: one line per field that changed, or the whole value.
fn changes(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> Vec<String> {
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    };
    match (before, after) {
        (Some(serde_json::Value::Object(b)), Some(serde_json::Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter_map(|k| match (b.get(k), a.get(k)) {
                    (Some(was), Some(now)) if was != now => {
                        Some(format!("{k}: {} → {}", show(was), show(now)))
                    }
                    (Some(_), Some(_)) => None,
                    // On one side only: context (before) or something new (after).
                    (Some(was), None) => Some(format!("{k}: {}", show(was))),
                    (None, Some(now)) => Some(format!("{k}: → {}", show(now))),
                    (None, None) => None,
                })
                .collect()
        }
        (None, None) => Vec::new(),
        // Made or removed whole: what it held.
        (Some(serde_json::Value::Object(only)), None)
        | (None, Some(serde_json::Value::Object(only))) => only
            .iter()
            .map(|(k, v)| format!("{k}: {}", show(v)))
            .collect(),
        (before, after) => {
            let was = before.map_or_else(|| "—".into(), show);
            let now = after.map_or_else(|| "—".into(), show);
            vec![format!("{was} → {now}")]
        }
    }
}

fn page(
    data: audit_log::ResponseData,
    filters: &Filters,
    error: Option<(&'static str, String)>,
) -> AnyView {
    let log = data.audit_log;
    let info = log.page_info;
    let query = filters.query();
    let older = info
        .has_next_page
        .then_some(info.end_cursor)
        .flatten()
        .map(|c| format!("/audit?after={}{query}", encode(&c)));
    let newer = info
        .has_previous_page
        .then_some(info.start_cursor)
        .flatten()
        .map(|c| format!("/audit?before={}{query}", encode(&c)));
    let newest = newer
        .as_ref()
        .map(|_| format!("/audit?{}", query.trim_start_matches('&')));
    let empty = log.nodes.is_empty();
    let rows = log
        .nodes
        .into_iter()
        .map(|e| {
            let target = match (&e.target_name, &e.target_id) {
                (Some(name), _) => name.clone(),
                (None, Some(id)) => id.clone(),
                (None, None) => String::new(),
            };
            let lines = changes(e.before.as_ref(), e.after.as_ref());
            let detail = (!lines.is_empty()).then(|| {
                view! {
                    <details class="change">
                        <summary>"before → after"</summary>
                        <ul>{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    </details>
                }
            });
            view! {
                <tr data-entry-id=e.id>
                    <td data-label="When">{when(&e.at)}</td>
                    <td data-label="Who" class="actor">{e.actor}</td>
                    <td data-label="What" class="mono action">{e.action}</td>
                    <td data-label="On" class="target">
                        <span class="hint">{e.target_type}</span>
                        " "
                        <span class="name">{target}</span>
                        {detail}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {filter_form(&data.users, filters, error)}
        <section class="panel" aria-labelledby="entries-title">
            <h2 id="entries-title">"Entries"</h2>
            <div class="table-wrap">
                <table id="audit" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"On"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {empty.then(|| view! { <p class="muted" id="audit-empty">"No entry matches."</p> })}
            <nav class="pager" aria-label="Audit log pages">
                {newest.map(|href| view! { <a href=href id="first-page">"« Newest"</a> })}
                {newer.map(|href| view! { <a href=href id="newer-page">"← Newer"</a> })}
                {older.map(|href| view! { <a href=href id="next-page">"Older →"</a> })}
            </nav>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn changes_list_the_fields_that_differ() {
        let before = json!({ "name": "Laptop", "platform": "linux" });
        let after = json!({ "name": "Work laptop", "platform": "linux" });
        assert_eq!(
            super::changes(Some(&before), Some(&after)),
            vec!["name: Laptop → Work laptop"]
        );
        let before = json!({ "status": "active", "file_path": "/a" });
        let after = json!({ "status": "cancelled" });
        assert_eq!(
            super::changes(Some(&before), Some(&after)),
            vec!["file_path: /a", "status: active → cancelled"]
        );
        assert_eq!(
            super::changes(None, Some(&json!({ "status": "cancelled" }))),
            vec!["status: cancelled"]
        );
        assert_eq!(
            super::changes(Some(&json!(["/a"])), Some(&json!(["/a", "/b"]))),
            vec![r#"["/a"] → ["/a","/b"]"#]
        );
        assert!(super::changes(None, None).is_empty());
    }

    #[test]
    fn dates_filter_whole_days() {
        assert_eq!(
            super::day_start("2026-12-07", 1).expect("date").as_deref(),
            Some("2026-12-08T00:00:00+00:00")
        );
        assert_eq!(super::day_start(" ", 0).expect("empty"), None);
        assert!(super::day_start("7/12/2026", 0).is_err());
    }
}
