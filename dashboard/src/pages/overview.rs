//! Overview: unfinished uploads with their owner, device, progress and pause/resume/cancel,
//! recent schedule runs, live throughput. The page is complete as loaded;
//! `/assets/live.js` keeps the three parts moving (a finished upload leaves the list).
use leptos::prelude::*;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FormError, FormNotice, error_of},
    operations::{
        CancelUpload, Overview, PauseUpload, ResumeUpload, cancel_upload, overview, pause_upload,
        resume_upload,
    },
    pages::{bytes, when},
};

#[server(name = PauseUploadFn, prefix = "/dashboard/fn", endpoint = "upload/pause")]
pub async fn pause_upload(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<PauseUpload>(pause_upload::Variables { id })
        .await?;
    Ok(())
}

#[server(name = ResumeUploadFn, prefix = "/dashboard/fn", endpoint = "upload/resume")]
pub async fn resume_upload(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<ResumeUpload>(resume_upload::Variables { id })
        .await?;
    Ok(())
}

#[server(name = CancelUploadFn, prefix = "/dashboard/fn", endpoint = "upload/cancel")]
pub async fn cancel_upload(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<CancelUpload>(cancel_upload::Variables { id })
        .await?;
    Ok(())
}

/// The page's server actions.
#[derive(Clone, Copy)]
struct Actions {
    pause: ServerAction<PauseUploadFn>,
    resume: ServerAction<ResumeUploadFn>,
    cancel: ServerAction<CancelUploadFn>,
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let api = Api::here();
    let actions = Actions {
        pause: ServerAction::new(),
        resume: ServerAction::new(),
        cancel: ServerAction::new(),
    };
    let error = error_of(actions.pause)
        .or_else(|| error_of(actions.resume))
        .or_else(|| error_of(actions.cancel));
    view! {
        <Layout title="Overview" current="/">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, error) = (api.clone(), error.clone());
                    Suspend::new(async move {
                        match api.run::<Overview>(overview::Variables).await {
                            Ok(data) => view! {
                                <FormNotice error=error />
                                {overview(data, actions)}
                            }
                            .into_any(),
                            Err(e) => load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

/// `{id: name}` as JSON safe inside a `<script>` element.
fn names_json(pairs: impl Iterator<Item = (String, String)>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .map(|(id, name)| (id, serde_json::Value::String(name)))
        .collect();
    serde_json::Value::Object(map)
        .to_string()
        .replace('<', "\\u003c")
}

/// Pause, resume and cancel for the upload `id` (empty in the template live.js copies);
/// the one of pause/resume that does not apply to `status` is hidden.
fn upload_actions(actions: Actions, id: &str, status: &str) -> impl IntoView + use<> {
    let (i1, i2, i3) = (id.to_owned(), id.to_owned(), id.to_owned());
    let paused = status == "paused";
    view! {
        <div class="actions">
            <ActionForm action=actions.pause attr:class="pause" attr:hidden=paused>
                <input type="hidden" name="id" value=i1 />
                <button type="submit" class="secondary" data-action="pause">"Pause"</button>
            </ActionForm>
            <ActionForm action=actions.resume attr:class="resume" attr:hidden=!paused>
                <input type="hidden" name="id" value=i2 />
                <button type="submit" class="secondary" data-action="resume">"Resume"</button>
            </ActionForm>
            <ActionForm action=actions.cancel attr:class="cancel">
                <input type="hidden" name="id" value=i3 />
                <button type="submit" class="danger" data-action="cancel">"Cancel"</button>
            </ActionForm>
        </div>
    }
}

fn overview(data: overview::ResponseData, actions: Actions) -> AnyView {
    let user_name = |id: &str| {
        data.users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| id.to_owned(), |u| u.username.clone())
    };
    let device_name = |id: &str| {
        data.all_devices
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| "—".to_owned(), |d| d.name.clone())
    };
    let users = names_json(
        data.users
            .iter()
            .map(|u| (u.id.clone(), u.username.clone())),
    );
    let devices = names_json(
        data.all_devices
            .iter()
            .map(|d| (d.id.clone(), d.name.clone())),
    );
    let active: Vec<_> = data
        .uploads
        .iter()
        .filter(|u| {
            matches!(
                u.status,
                overview::UploadStatus::ACTIVE | overview::UploadStatus::PAUSED
            )
        })
        .collect();
    let rows = active
        .iter()
        .map(|u| {
            let percent = u.progress_percent;
            let status = format!("{:?}", u.status).to_lowercase();
            view! {
                <tr data-upload-id=u.upload_id.clone()>
                    <td data-label="File" class="mono">{u.file_path.clone()}</td>
                    <td data-label="Owner" class="owner">{user_name(&u.user_id)}</td>
                    <td data-label="Device" class="device">{device_name(&u.device_node_id)}</td>
                    <td data-label="Progress">
                        <div class="bar">
                            <progress
                                max="100"
                                value=percent.to_string()
                                aria-label=format!("{} uploaded", u.file_path)
                            ></progress>
                            <span>{format!("{percent:.1}%")}</span>
                        </div>
                        <span class="hint bytes">
                            {format!("{} of {}", bytes(u.uploaded_bytes), bytes(u.total_size))}
                        </span>
                    </td>
                    <td data-label="Chunks" class="num chunks">
                        {format!("{} / {}", u.completed_chunks, u.total_chunks)}
                    </td>
                    <td data-label="Status" class="status">{status.clone()}</td>
                    <td data-label="Actions">{upload_actions(actions, &u.upload_id, &status)}</td>
                </tr>
            }
        })
        .collect_view();
    let runs = data.schedule_runs.nodes;
    view! {
        <section class="panel" aria-labelledby="uploads-title">
            <h2 id="uploads-title">"Active uploads"</h2>
            <script type="application/json" id="device-names" inner_html=devices></script>
            <template id="upload-actions">{upload_actions(actions, "", "active")}</template>
            <div class="table-wrap">
                <table id="uploads" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"File"</th>
                            <th scope="col">"Owner"</th>
                            <th scope="col">"Device"</th>
                            <th scope="col">"Progress"</th>
                            <th scope="col" class="num">"Chunks"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="muted" id="uploads-empty" hidden=!active.is_empty()>
                "No upload in progress."
            </p>
        </section>
        <div class="grid">
            <section class="panel" aria-labelledby="throughput-title">
                <h2 id="throughput-title">"Throughput"</h2>
                <script type="application/json" id="user-names" inner_html=users></script>
                <table id="throughput">
                    <thead>
                        <tr>
                            <th scope="col">"User"</th>
                            <th scope="col">"Direction"</th>
                            <th scope="col" class="num">"Now"</th>
                        </tr>
                    </thead>
                    <tbody></tbody>
                </table>
                <p class="muted" id="throughput-empty">
                    "Quiet: no bytes moving. Live figures appear here while transfers run."
                </p>
            </section>
            <section class="panel" aria-labelledby="runs-title">
                <h2 id="runs-title">"Recent schedule runs"</h2>
                <ul class="feed" id="run-feed">
                    {runs
                        .iter()
                        .map(|r| {
                            view! {
                                <li data-run-id=r.id.clone()>
                                    {format!(
                                        "{} · {} · {} · {} · {} changes",
                                        when(&r.started_at),
                                        r.device_id,
                                        format!("{:?}", r.trigger).to_lowercase(),
                                        format!("{:?}", r.status).to_lowercase(),
                                        r.change_count,
                                    )}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                {runs
                    .is_empty()
                    .then(|| {
                        view! {
                            <p class="muted" id="run-feed-empty">
                                "No run yet."
                            </p>
                        }
                    })}
            </section>
        </div>
    }
    .into_any()
}
