//! Bandwidth limits per user, with the hours (in the user's zone) they apply.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, optional_number, typed},
    operations::{
        BandwidthLimit, SetBandwidthLimit, Users, bandwidth_limit, set_bandwidth_limit, users,
    },
};

/// KiB/s in the form → bytes/s in the API.
fn kib(field: &str, raw: &str) -> Result<Option<i64>, FormError> {
    Ok(optional_number(field, raw)?.map(|k| k.saturating_mul(1024)))
}

/// Set one user's limit.
#[server(name = SetBandwidthFn, prefix = "/dashboard/fn", endpoint = "bandwidth/set")]
pub async fn set_bandwidth(
    user_id: String,
    upload_speed_limit: String,
    download_speed_limit: String,
    throttle_enabled: Option<String>,
    throttle_start_hour: String,
    throttle_end_hour: String,
    timezone: String,
) -> Result<(), FormError> {
    let kept = [
        ("upload_speed_limit", upload_speed_limit.as_str()),
        ("download_speed_limit", download_speed_limit.as_str()),
        (
            "throttle_enabled",
            throttle_enabled.as_deref().unwrap_or(""),
        ),
        ("throttle_start_hour", throttle_start_hour.as_str()),
        ("throttle_end_hour", throttle_end_hour.as_str()),
        ("timezone", timezone.as_str()),
    ];
    async {
        let input = set_bandwidth_limit::BandwidthLimitInput {
            user_id: Some(user_id.clone()),
            upload_speed_limit: kib("upload_speed_limit", &upload_speed_limit)?,
            download_speed_limit: kib("download_speed_limit", &download_speed_limit)?,
            throttle_enabled: throttle_enabled.is_some(),
            throttle_start_hour: optional_number("throttle_start_hour", &throttle_start_hour)?,
            throttle_end_hour: optional_number("throttle_end_hour", &throttle_end_hour)?,
            timezone: Some(timezone.trim().to_owned()).filter(|t| !t.is_empty()),
        };
        Api::here()
            .run::<SetBandwidthLimit>(set_bandwidth_limit::Variables { input })
            .await?;
        Ok::<_, FormError>(())
    }
    .await
    .map_err(|e| e.keeping(&kept))?;
    leptos_axum::redirect(&format!("/bandwidth?user={user_id}&saved=1"));
    Ok(())
}

type Limit = bandwidth_limit::BandwidthLimitBandwidthLimit;

#[component]
pub fn BandwidthPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let chosen = query.get("user");
    // A refused post comes back to the address of the last good one: no "Saved." then.
    let saved = query.get("saved").is_some() && query.get("__err").is_none();
    let action = ServerAction::<SetBandwidthFn>::new();
    let error = error_of(action);
    view! {
        <Layout title="Bandwidth limits" current="/bandwidth">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, chosen, error) = (api.clone(), chosen.clone(), error.clone());
                    Suspend::new(async move {
                        let all = match api.run::<Users>(users::Variables).await {
                            Ok(data) => data.users,
                            Err(e) => return load_error(e),
                        };
                        let mut limits = Vec::new();
                        for user in &all {
                            match api
                                .run::<BandwidthLimit>(bandwidth_limit::Variables {
                                    user_id: Some(user.id.clone()),
                                })
                                .await
                            {
                                Ok(data) => limits.push((user.clone(), data.bandwidth_limit)),
                                Err(e) => return load_error(e),
                            }
                        }
                        let editing = chosen
                            .and_then(|id| limits.iter().find(|(u, _)| u.id == id).cloned())
                            .or_else(|| limits.first().cloned());
                        view! {
                            {saved
                                .then(|| {
                                    view! {
                                        <p class="notice ok" role="status" id="saved">
                                            "Saved."
                                        </p>
                                    }
                                })}
                            {limits_table(&limits)}
                            {editing.map(|(user, limit)| edit_form(user.id, user.username, limit, error, action))}
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

/// A limit for people: `512 KiB/s`, or `unlimited`.
pub(crate) fn rate(limit: Option<i64>) -> String {
    match limit {
        Some(bytes) => format!("{} KiB/s", bytes / 1024),
        None => "unlimited".into(),
    }
}

fn window(limit: &Limit) -> String {
    match (limit.throttle_start_hour, limit.throttle_end_hour) {
        (Some(start), Some(end)) => format!("{start:02}:00–{end:02}:00 {}", limit.timezone),
        _ => "all day".into(),
    }
}

fn limits_table(limits: &[(users::UsersUsers, Limit)]) -> impl IntoView + use<> {
    view! {
        <section class="panel" aria-labelledby="limits-title">
            <h2 id="limits-title">"Limits in force"</h2>
            <div class="table-wrap">
                <table id="limits">
                    <thead>
                        <tr>
                            <th scope="col">"User"</th>
                            <th scope="col">"Upload"</th>
                            <th scope="col">"Download"</th>
                            <th scope="col">"Applies"</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        {limits
                            .iter()
                            .map(|(user, limit)| {
                                let (upload, download, applies) = if limit.throttle_enabled {
                                    (
                                        rate(limit.upload_speed_limit),
                                        rate(limit.download_speed_limit),
                                        window(limit),
                                    )
                                } else {
                                    ("unlimited".into(), "unlimited".into(), "off".into())
                                };
                                view! {
                                    <tr data-user=user.username.clone()>
                                        <td>{user.username.clone()}</td>
                                        <td class="upload">{upload}</td>
                                        <td class="download">{download}</td>
                                        <td>{applies}</td>
                                        <td>
                                            <a href=format!("/bandwidth?user={}", user.id)>"Edit"</a>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

fn edit_form(
    user_id: String,
    username: String,
    limit: Limit,
    error: Option<FormError>,
    action: ServerAction<SetBandwidthFn>,
) -> impl IntoView {
    let field_error = error.clone();
    let number =
        move |name: &'static str, label: &'static str, value: Option<i64>, hint: &'static str| {
            let error = field_error.clone();
            let value = typed(
                error.as_ref(),
                name,
                value.map(|v| v.to_string()).unwrap_or_default(),
            );
            view! {
                <div class="field">
                    <label for=name>{label}</label>
                    <input id=name name=name inputmode="numeric" value=value />
                    <span class="hint">{hint}</span>
                    <FieldError error=error.clone() field=name />
                </div>
            }
        };
    view! {
        <section class="panel" aria-labelledby="edit-title">
            <h2 id="edit-title">{format!("Limit for {username}")}</h2>
            <FormNotice error=error.clone() />
            <ActionForm action=action>
                <div class="stack-form">
                    <input type="hidden" name="user_id" value=user_id />
                    <div class="row">
                        {number(
                            "upload_speed_limit",
                            "Upload (KiB/s)",
                            limit.upload_speed_limit.map(|b| b / 1024),
                            "empty: unlimited",
                        )}
                        {number(
                            "download_speed_limit",
                            "Download (KiB/s)",
                            limit.download_speed_limit.map(|b| b / 1024),
                            "empty: unlimited",
                        )}
                    </div>
                    <div class="field">
                        <label class="check">
                            <input
                                type="checkbox"
                                name="throttle_enabled"
                                id="throttle_enabled"
                                checked=error
                                    .as_ref()
                                    .and_then(|e| e.kept("throttle_enabled"))
                                    .map_or(limit.throttle_enabled, |v| !v.is_empty())
                            />
                            "Limits on"
                        </label>
                    </div>
                    <div class="row">
                        {number(
                            "throttle_start_hour",
                            "From hour",
                            limit.throttle_start_hour,
                            "0–23; empty with the next: all day",
                        )}
                        {number("throttle_end_hour", "Until hour", limit.throttle_end_hour, "0–23, exclusive")}
                        <div class="field">
                            <label for="timezone">"Time zone"</label>
                            <input
                                id="timezone"
                                name="timezone"
                                value=typed(error.as_ref(), "timezone", limit.timezone.clone())
                            />
                            <span class="hint">"IANA name, e.g. Europe/Berlin"</span>
                            <FieldError error=error.clone() field="timezone" />
                        </div>
                    </div>
                    <button type="submit" id="save-limit">
                        "Save limit"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}
