//! Overview: active uploads with progress bars, recent schedule runs, live throughput.
//! The page is complete as loaded; `/assets/live.js` keeps the three parts moving.
use leptos::prelude::*;

use crate::{
    app::{Layout, load_error},
    client::Api,
    operations::{Overview, overview},
    pages::{bytes, when},
};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let api = Api::here();
    view! {
        <Layout title="Overview" current="/">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let api = api.clone();
                    Suspend::new(async move {
                        match api.run::<Overview>(overview::Variables).await {
                            Ok(data) => overview(data),
                            Err(e) => load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn overview(data: overview::ResponseData) -> AnyView {
    let names: serde_json::Map<String, serde_json::Value> = data
        .users
        .iter()
        .map(|u| (u.id.clone(), serde_json::Value::String(u.username.clone())))
        .collect();
    let names = serde_json::Value::Object(names)
        .to_string()
        .replace('<', "\\u003c");
    let active: Vec<_> = data
        .uploads
        .into_iter()
        .filter(|u| {
            matches!(
                u.status,
                overview::UploadStatus::ACTIVE | overview::UploadStatus::PAUSED
            )
        })
        .collect();
    let runs = data.schedule_runs.nodes;
    view! {
        <section class="panel" aria-labelledby="uploads-title">
            <h2 id="uploads-title">"Active uploads"</h2>
            <div class="table-wrap">
                <table id="uploads">
                    <thead>
                        <tr>
                            <th scope="col">"File"</th>
                            <th scope="col">"Progress"</th>
                            <th scope="col" class="num">"Chunks"</th>
                            <th scope="col">"Status"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {active
                            .iter()
                            .map(|u| {
                                let percent = u.progress_percent;
                                view! {
                                    <tr data-upload-id=u.upload_id.clone()>
                                        <td class="mono">{u.file_path.clone()}</td>
                                        <td>
                                            <div class="bar">
                                                <progress
                                                    max="100"
                                                    value=percent.to_string()
                                                    aria-label=format!("{} uploaded", u.file_path)
                                                ></progress>
                                                <span>{format!("{percent:.1}%")}</span>
                                            </div>
                                            <span class="hint bytes">
                                                {format!(
                                                    "{} of {}",
                                                    bytes(u.uploaded_bytes),
                                                    bytes(u.total_size),
                                                )}
                                            </span>
                                        </td>
                                        <td class="num chunks">
                                            {format!("{} / {}", u.completed_chunks, u.total_chunks)}
                                        </td>
                                        <td class="status">
                                            {format!("{:?}", u.status).to_lowercase()}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            {active
                .is_empty()
                .then(|| {
                    view! {
                        <p class="muted" id="uploads-empty">
                            "No upload in progress."
                        </p>
                    }
                })}
        </section>
        <div class="grid">
            <section class="panel" aria-labelledby="throughput-title">
                <h2 id="throughput-title">"Throughput"</h2>
                <script type="application/json" id="user-names" inner_html=names></script>
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
