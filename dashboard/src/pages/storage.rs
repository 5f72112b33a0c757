//! Storage: what the block collector found and reclaimed, run by run, and a
//! button to run it now (retention applied, unreferenced blocks deleted).
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FormError, FormNotice, error_of},
    operations::{CollectGarbage, StorageReports, collect_garbage, storage_reports},
    pages::{bytes, when},
};

/// Run the collector now.
#[server(name = CollectGarbageFn, prefix = "/dashboard/fn", endpoint = "storage/collect")]
pub async fn collect() -> Result<(), FormError> {
    Api::here()
        .run::<CollectGarbage>(collect_garbage::Variables)
        .await?;
    leptos_axum::redirect("/storage?collected=1");
    Ok(())
}

type Report = storage_reports::StorageReportsStorageReports;

#[component]
pub fn StoragePage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let collected = query.get("collected").is_some() && query.get("__err").is_none();
    let action = ServerAction::<CollectGarbageFn>::new();
    let error = error_of(action);
    view! {
        <Layout title="Storage" current="/storage">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, error) = (api.clone(), error.clone());
                    Suspend::new(async move {
                        let reports = match api.run::<StorageReports>(storage_reports::Variables).await {
                            Ok(data) => data.storage_reports,
                            Err(e) => return load_error(e),
                        };
                        view! {
                            {collected
                                .then(|| {
                                    view! {
                                        <p class="notice ok" role="status" id="collected">
                                            "Collected."
                                        </p>
                                    }
                                })}
                            <FormNotice error=error />
                            {summary(reports.first())}
                            <section class="panel" aria-labelledby="collect-title">
                                <h2 id="collect-title">"Collect now"</h2>
                                <p>
                                    "Applies the version retention setting, then deletes the blocks no file version and no unfinished upload uses (blocks used within the grace period stay)."
                                </p>
                                <ActionForm action=action>
                                    <button type="submit" id="collect">"Collect now"</button>
                                </ActionForm>
                            </section>
                            {runs(&reports)}
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn summary(latest: Option<&Report>) -> impl IntoView + use<> {
    let text = match latest {
        Some(r) => format!(
            "{} in {} blocks after the last run.",
            bytes(r.bytes_used),
            r.blocks_kept
        ),
        None => "The collector has not run yet.".to_owned(),
    };
    view! {
        <section class="panel" aria-labelledby="used-title">
            <h2 id="used-title">"Space used"</h2>
            <p id="space-used">{text}</p>
        </section>
    }
}

fn runs(reports: &[Report]) -> impl IntoView + use<> {
    let rows = reports
        .iter()
        .map(|r| {
            let finished = r
                .finished_at
                .as_deref()
                .map(when)
                .unwrap_or_else(|| "running, or cut short".into());
            view! {
                <tr data-run=r.id.clone()>
                    <td data-label="Started">{when(&r.started_at)}</td>
                    <td data-label="Finished">{finished}</td>
                    <td data-label="Versions pruned">{r.versions_pruned}</td>
                    <td data-label="Blocks deleted">{r.blocks_deleted}</td>
                    <td data-label="Reclaimed">{bytes(r.bytes_reclaimed)}</td>
                    <td data-label="Blocks kept">{r.blocks_kept}</td>
                    <td data-label="Space used">{bytes(r.bytes_used)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="runs-title">
            <h2 id="runs-title">"Collector runs"</h2>
            <div class="table-wrap">
                <table id="runs" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"Started"</th>
                            <th scope="col">"Finished"</th>
                            <th scope="col">"Versions pruned"</th>
                            <th scope="col">"Blocks deleted"</th>
                            <th scope="col">"Reclaimed"</th>
                            <th scope="col">"Blocks kept"</th>
                            <th scope="col">"Space used"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
