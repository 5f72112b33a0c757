//! Selective sync per device: edit the folders a device syncs, and check paths against
//! the server's own rule (`selectiveSyncCheck`), never a re-implementation of it.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of},
    operations::{
        ConfigureSelectiveSync, Devices, SelectiveSync, SelectiveSyncCheck,
        configure_selective_sync, devices, selective_sync, selective_sync_check,
    },
};

fn lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

fn split_device(device: &str) -> Result<(String, String), FormError> {
    device
        .split_once(':')
        .map(|(u, d)| (u.to_owned(), d.to_owned()))
        .ok_or_else(|| FormError::field("device", "Choose a device."))
}

/// Replace a device's folders: one path per line, with or without their subfolders.
#[server(name = SaveSelectiveFn, prefix = "/dashboard/fn", endpoint = "selective/save")]
pub async fn save_selective(
    device: String,
    with_subfolders: String,
    folder_only: String,
) -> Result<(), FormError> {
    let api = Api::here();
    let (user_id, device_id) = split_device(&device)?;
    let folder =
        |path: String, include_subfolders: bool| configure_selective_sync::SyncFolderInput {
            path,
            enabled: true,
            include_subfolders,
        };
    let folders = lines(&with_subfolders)
        .map(|p| folder(p, true))
        .chain(lines(&folder_only).map(|p| folder(p, false)))
        .collect();
    api.run::<ConfigureSelectiveSync>(configure_selective_sync::Variables {
        device_id,
        user_id: Some(user_id),
        folders,
    })
    .await
    .map_err(|e| {
        let mut error = FormError::from(e);
        error.field.get_or_insert_with(|| "with_subfolders".into());
        error
    })?;
    leptos_axum::redirect(&format!("/selective?device={device}&saved=1"));
    Ok(())
}

#[component]
pub fn SelectivePage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let device = query.get("device").unwrap_or_default();
    let check = query.get("check").unwrap_or_default();
    let saved = query.get("saved").is_some();
    let save = ServerAction::<SaveSelectiveFn>::new();
    let error = error_of(save);
    view! {
        <Layout title="Selective sync" current="/selective">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, device, check, error) = (
                        api.clone(),
                        device.clone(),
                        check.clone(),
                        error.clone(),
                    );
                    Suspend::new(async move {
                        let all = match api.run::<Devices>(devices::Variables).await {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let chooser = chooser(&all, &device);
                        let Ok((user_id, device_id)) = split_device(&device) else {
                            return chooser.into_any();
                        };
                        let folders = match api
                            .run::<SelectiveSync>(selective_sync::Variables {
                                device_id: device_id.clone(),
                                user_id: Some(user_id.clone()),
                            })
                            .await
                        {
                            Ok(data) => data.selective_sync,
                            Err(e) => return load_error(e),
                        };
                        let decisions = if check.trim().is_empty() {
                            None
                        } else {
                            Some(
                                api.run::<SelectiveSyncCheck>(selective_sync_check::Variables {
                                        device_id,
                                        user_id: Some(user_id),
                                        paths: lines(&check).collect(),
                                    })
                                    .await
                                    .map(|d| d.selective_sync_check),
                            )
                        };
                        let with: Vec<String> = folders
                            .iter()
                            .filter(|f| f.enabled && f.include_subfolders)
                            .map(|f| f.path.clone())
                            .collect();
                        let only: Vec<String> = folders
                            .iter()
                            .filter(|f| f.enabled && !f.include_subfolders)
                            .map(|f| f.path.clone())
                            .collect();
                        let check_view = check_panel(&device, &check, decisions);
                        view! {
                            {chooser}
                            {saved
                                .then(|| {
                                    view! {
                                        <p class="notice ok" role="status" id="saved">
                                            "Saved."
                                        </p>
                                    }
                                })}
                            <div class="grid">
                                <section class="panel" aria-labelledby="folders-title">
                                    <h2 id="folders-title">"Folders this device syncs"</h2>
                                    <p class="hint">
                                        "No folder at all means everything syncs. One path per line."
                                    </p>
                                    <FormNotice error=error.clone() />
                                    <ActionForm action=save>
                                        <div class="stack-form">
                                            <input type="hidden" name="device" value=device.clone() />
                                            <div class="field">
                                                <label for="with_subfolders">
                                                    "Folders, with everything below them"
                                                </label>
                                                <textarea id="with_subfolders" name="with_subfolders">
                                                    {with.join("\n")}
                                                </textarea>
                                                <FieldError error=error.clone() field="with_subfolders" />
                                            </div>
                                            <div class="field">
                                                <label for="folder_only">
                                                    "Folders, their own files only"
                                                </label>
                                                <textarea id="folder_only" name="folder_only">
                                                    {only.join("\n")}
                                                </textarea>
                                            </div>
                                            <button type="submit" id="save-folders">
                                                "Save folders"
                                            </button>
                                        </div>
                                    </ActionForm>
                                </section>
                                {check_view}
                            </div>
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn chooser(all: &devices::ResponseData, current: &str) -> impl IntoView + use<> {
    let options = all
        .all_devices
        .iter()
        .map(|d| {
            let value = format!("{}:{}", d.user_id, d.device_id);
            let user = all
                .users
                .iter()
                .find(|u| u.id == d.user_id)
                .map_or(d.user_id.clone(), |u| u.username.clone());
            let selected = value == current;
            view! {
                <option value=value selected=selected>
                    {format!("{user} / {} ({})", d.device_id, d.name)}
                </option>
            }
        })
        .collect_view();
    view! {
        <form method="get" action="/selective" class="panel">
            <div class="row">
                <div class="field">
                    <label for="device">"Device"</label>
                    <select id="device" name="device">
                        {options}
                    </select>
                </div>
                <div class="field">
                    <span class="hint">" "</span>
                    <button type="submit" id="open-device">
                        "Open"
                    </button>
                </div>
            </div>
        </form>
    }
}

fn check_panel(
    device: &str,
    check: &str,
    decisions: Option<
        Result<
            Vec<selective_sync_check::SelectiveSyncCheckSelectiveSyncCheck>,
            crate::client::ApiError,
        >,
    >,
) -> impl IntoView + use<> {
    let results = match decisions {
        None => None,
        Some(Err(e)) => Some(
            view! {
                <p class="field-error" role="alert">
                    {e.message}
                </p>
            }
            .into_any(),
        ),
        Some(Ok(decisions)) => Some(
            view! {
                <ul class="feed" id="check-results" aria-live="polite">
                    {decisions
                        .into_iter()
                        .map(|d| {
                            let (class, label) = if d.synced {
                                ("badge ok", "synced")
                            } else {
                                ("badge off", "not synced")
                            };
                            view! {
                                <li data-path=d.path.clone() data-synced=d.synced.to_string()>
                                    <span class="mono">{d.path.clone()}</span>
                                    " "
                                    <span class=class>{label}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any(),
        ),
    };
    view! {
        <section class="panel" aria-labelledby="check-title">
            <h2 id="check-title">"Check paths"</h2>
            <form method="get" action="/selective" class="stack-form">
                <input type="hidden" name="device" value=device.to_owned() />
                <div class="field">
                    <label for="check">"Paths, one per line"</label>
                    <textarea id="check" name="check">
                        {check.to_owned()}
                    </textarea>
                </div>
                <button type="submit" id="check-paths" class="secondary">
                    "Check"
                </button>
            </form>
            {results}
        </section>
    }
}
