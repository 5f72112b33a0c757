//! My settings, for every signed-in user: the bandwidth limit that applies to
//! them and what each of their devices syncs. Read-only here: admins set them
//! on the Bandwidth and Selective sync pages (a user may still set their own
//! through the API or `ferry sync`, as the SPEC allows).
use leptos::prelude::*;

use crate::{
    app::{Layout, load_error},
    client::Api,
    operations::{MySettings, SelectiveSync, my_settings, selective_sync},
    pages::{bandwidth::rate, selective::Mode},
};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let api = Api::here();
    view! {
        <Layout title="My settings" current="/settings">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let api = api.clone();
                    Suspend::new(async move {
                        let data = match api.run::<MySettings>(my_settings::Variables).await {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let mut synced = Vec::new();
                        for device in &data.devices {
                            match api
                                .run::<SelectiveSync>(selective_sync::Variables {
                                    device_id: device.device_id.clone(),
                                    user_id: None,
                                })
                                .await
                            {
                                Ok(rules) => synced.push((device.clone(), rules.selective_sync)),
                                Err(e) => return load_error(e),
                            }
                        }
                        page(data.bandwidth_limit, synced)
                    })
                }}
            </Suspense>
        </Layout>
    }
}

type Rules = Vec<selective_sync::SelectiveSyncSelectiveSync>;

fn page(
    limit: my_settings::MySettingsBandwidthLimit,
    synced: Vec<(my_settings::MySettingsDevices, Rules)>,
) -> AnyView {
    let applies = if !limit.throttle_enabled {
        "never (no limit in force)".to_owned()
    } else {
        match (limit.throttle_start_hour, limit.throttle_end_hour) {
            (Some(start), Some(end)) => format!("{start:02}:00–{end:02}:00 {}", limit.timezone),
            _ => format!("all day ({})", limit.timezone),
        }
    };
    view! {
        <section class="panel" aria-labelledby="limit-title">
            <h2 id="limit-title">"Bandwidth limit"</h2>
            <dl class="facts" id="my-limit">
                <dt>"Upload"</dt>
                <dd>{rate(limit.upload_speed_limit)}</dd>
                <dt>"Download"</dt>
                <dd>{rate(limit.download_speed_limit)}</dd>
                <dt>"Applies"</dt>
                <dd>{applies}</dd>
            </dl>
            <p class="hint">"An administrator sets this limit."</p>
        </section>
        <section class="panel" aria-labelledby="sync-title">
            <h2 id="sync-title">"What each device syncs"</h2>
            {synced
                .is_empty()
                .then(|| view! { <p class="muted">"No device yet."</p> })}
            {synced
                .into_iter()
                .map(|(device, rules)| {
                    view! {
                        <h3>{format!("{} ({})", device.name, device.device_id)}</h3>
                        {if rules.is_empty() {
                            view! { <p class="muted">"Everything (no folder chosen)."</p> }
                                .into_any()
                        } else {
                            view! {
                                <ul class="rules" data-device=device.device_id.clone()>
                                    {rules
                                        .into_iter()
                                        .map(|r| {
                                            let mode = Mode::of(r.enabled, r.include_subfolders);
                                            view! {
                                                <li>
                                                    <code>{r.path}</code>
                                                    {format!(": {}", mode.label())}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }}
                    }
                })
                .collect_view()}
        </section>
    }
    .into_any()
}
