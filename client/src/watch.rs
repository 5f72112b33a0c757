//! Staying in sync: passes until both sides agree, then waiting for a local
//! change (file watching, debounced), a server change (the feed, long-polled)
//! or — for a device whose schedules are all time-based — a requested run,
//! which is acknowledged once its pass is done. A server that is away is
//! retried with backoff; the feed's cursor makes the client catch up.
use std::future::Future;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::pass::{Folder, Report};
use crate::pull::pull;
use crate::state::STATE_DIR;

/// Passes at most before `run` gives up on a folder that keeps changing.
const MAX_ROUNDS: usize = 30;
/// Quiet time after the last local event before a pass starts.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// How long one feed request waits for a server change.
const LONG_POLL: Duration = Duration::from_secs(25);
/// How often a scheduled device asks for requested runs.
const RUN_POLL: Duration = Duration::from_secs(3);
/// The longest wait between attempts while the server is away.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Passes until one moves nothing and nothing is still being written; a
/// one-line summary. Paths the server refused make it an error.
pub async fn until_agreed(folder: &Folder) -> Result<String> {
    let mut total = Report::default();
    for _ in 0..MAX_ROUNDS {
        let report = folder.pass().await?;
        total.uploaded += report.uploaded;
        total.downloaded += report.downloaded;
        total.removed += report.removed;
        for (path, why) in &report.skipped {
            if !total.skipped.iter().any(|(p, _)| p == path) {
                tracing::warn!(%path, "skipped: {why}");
                total.skipped.push((path.clone(), why.clone()));
            }
        }
        if report.moved == 0 && report.settling == 0 {
            if report.refused > 0 {
                return Err(Error::Setup(format!(
                    "{} path(s) could not sync; `ferry sync status {}` says why",
                    report.refused,
                    folder.root.display()
                )));
            }
            return Ok(format!(
                "in sync: {} uploaded, {} downloaded, {} removed",
                total.uploaded, total.downloaded, total.removed
            ));
        }
        if report.moved == 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Err(Error::Setup(
        "the folder kept changing while it was synced; run again".into(),
    ))
}

/// Whether the device waits for requested runs: it has enabled schedules and
/// all of them are time-based.
async fn scheduled_only(folder: &Folder) -> Result<bool> {
    let schedules = folder.api.schedules(&folder.device_id).await?;
    let enabled: Vec<_> = schedules.iter().filter(|s| s.enabled).collect();
    Ok(!enabled.is_empty() && enabled.iter().all(|s| s.schedule_type != "on_change"))
}

#[derive(Debug, Deserialize)]
struct RunNode {
    id: String,
    status: String,
}

/// The device's runs waiting for it.
async fn requested_runs(folder: &Folder) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Nodes {
        nodes: Vec<RunNode>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        schedule_runs: Nodes,
    }
    let data: Data = folder
        .api
        .graphql(
            "reading requested runs",
            "query($d: String!) { scheduleRuns(deviceId: $d, first: 50) { nodes { id status } } }",
            serde_json::json!({ "d": folder.device_id }),
        )
        .await?;
    Ok(data
        .schedule_runs
        .nodes
        .into_iter()
        .filter(|r| r.status == "REQUESTED")
        .map(|r| r.id)
        .collect())
}

/// Tell the server run `id` is done.
async fn complete_run(folder: &Folder, id: &str) -> Result<()> {
    let _: serde_json::Value = folder
        .api
        .graphql(
            "acknowledging a run",
            "mutation($id: ID!) { completeSyncRun(id: $id) { status } }",
            serde_json::json!({ "id": id }),
        )
        .await?;
    Ok(())
}

/// What woke the watcher.
enum Wake {
    Local,
    Remote,
    Run(Vec<String>),
    Stop,
}

/// Keep `folder` in sync until `shutdown` completes.
pub async fn watch(folder: &Folder, shutdown: impl Future<Output = ()>) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let state_dir = folder.root.join(STATE_DIR);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.paths.iter().all(|p| p.starts_with(&state_dir))
        {
            let _ = tx.try_send(());
        }
    })
    .map_err(|e| Error::Setup(format!("cannot watch the folder: {e}")))?;
    watcher
        .watch(&folder.root, RecursiveMode::Recursive)
        .map_err(|e| Error::Setup(format!("cannot watch {}: {e}", folder.root.display())))?;
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_secs(1);
    let mut runs: Vec<String> = Vec::new();
    let mut scheduled = true;
    loop {
        // Sync now, unless the device waits for runs and none came.
        let outcome = async {
            scheduled = scheduled_only(folder).await?;
            if scheduled && runs.is_empty() {
                return Ok(None);
            }
            let summary = until_agreed(folder).await?;
            for id in runs.drain(..) {
                complete_run(folder, &id).await?;
            }
            Ok::<_, Error>(Some(summary))
        }
        .await;
        match outcome {
            Ok(summary) => {
                if let Some(summary) = summary {
                    tracing::info!("{summary}");
                }
                backoff = Duration::from_secs(1);
            }
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "sync failed; trying again");
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        }
        let wake = tokio::select! {
            () = &mut shutdown => Wake::Stop,
            Some(()) = rx.recv() => Wake::Local,
            changed = server_change(folder), if !scheduled => match changed {
                Ok(()) => Wake::Remote,
                Err(e) => { tracing::warn!(error = %e, "waiting for server changes failed"); Wake::Remote }
            },
            requested = next_runs(folder), if scheduled => Wake::Run(requested),
        };
        match wake {
            Wake::Stop => return Ok(()),
            Wake::Local => debounce(&mut rx).await,
            Wake::Remote => {}
            Wake::Run(ids) => runs = ids,
        }
    }
}

/// An error that retrying cannot fix: the token refused, the folder unusable.
fn is_fatal(e: &Error) -> bool {
    matches!(e.code(), Some("unauthorized" | "forbidden"))
}

/// Wait until local events stop for [`DEBOUNCE`] (at most 10 s).
async fn debounce(rx: &mut tokio::sync::mpsc::Receiver<()>) {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::select! {
            () = tokio::time::sleep(DEBOUNCE) => return,
            () = tokio::time::sleep_until(until) => return,
            Some(()) = rx.recv() => {}
        }
    }
}

/// Wait until the feed brings a change (applied to the mirror).
async fn server_change(folder: &Folder) -> Result<()> {
    loop {
        let applied = pull(&folder.api, &folder.state, &folder.device_id, LONG_POLL).await;
        match applied {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(e) => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                return Err(e);
            }
        }
    }
}

/// Wait until the server requests a run of this device.
async fn next_runs(folder: &Folder) -> Vec<String> {
    loop {
        match requested_runs(folder).await {
            Ok(ids) if !ids.is_empty() => return ids,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading requested runs failed"),
        }
        tokio::time::sleep(RUN_POLL).await;
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
