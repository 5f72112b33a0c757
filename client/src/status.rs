//! `ferry sync status`: what is pending, held back or left out.
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::pass::Folder;
use crate::plan::{Action, held};

/// The folder's sync status.
#[derive(Debug, Serialize)]
pub struct Status {
    pub server: String,
    pub device_id: String,
    /// When the last pass finished (RFC 3339), if one did.
    pub last_sync: Option<String>,
    /// Whether the server answered just now (the counts below need it).
    pub server_reachable: bool,
    pub pending_uploads: Vec<String>,
    pub pending_downloads: Vec<String>,
    pub pending_deletions: Vec<String>,
    /// Uploads started and not finished (resumed by the next pass).
    pub uploads_in_flight: Vec<String>,
    /// Conflict copies in the folder, and paths left for a person.
    pub conflicts: Vec<String>,
    /// Paths kept back, with why.
    pub held: Vec<Held>,
    /// Local paths outside the device's selective sync.
    pub left_out: Vec<String>,
    /// Paths never synced (symlinks, special files), with why.
    pub skipped: Vec<Held>,
}

/// A path and why.
#[derive(Debug, Serialize)]
pub struct Held {
    pub path: String,
    pub reason: String,
}

/// The status of the folder `root`.
pub async fn status(root: &Path) -> Result<Status> {
    let folder = Folder::open(root).await?;
    let state = &folder.state;
    let mut status = Status {
        server: state.required("server").await?,
        device_id: folder.device_id.clone(),
        last_sync: state.setting("last_sync").await?,
        server_reachable: false,
        pending_uploads: Vec::new(),
        pending_downloads: Vec::new(),
        pending_deletions: Vec::new(),
        uploads_in_flight: state
            .all_pending()
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect(),
        conflicts: Vec::new(),
        held: Vec::new(),
        left_out: Vec::new(),
        skipped: Vec::new(),
    };
    match folder.decide().await {
        Ok(decision) => {
            status.server_reachable = true;
            for action in decision.actions {
                match action {
                    Action::Upload { path, .. } | Action::MakeRemoteFolder { path } => {
                        status.pending_uploads.push(path);
                    }
                    Action::Download { path, .. } | Action::MakeLocalFolder { path } => {
                        status.pending_downloads.push(path);
                    }
                    Action::DeleteRemote { path, .. }
                    | Action::RemoveLocalFile { path, .. }
                    | Action::RemoveLocalFolder { path } => status.pending_deletions.push(path),
                    Action::Agree { .. } | Action::Hold { .. } => {}
                }
            }
            status.skipped = decision
                .skipped
                .into_iter()
                .map(|(path, reason)| Held { path, reason })
                .collect();
        }
        Err(e) => tracing::warn!(error = %e, "the server did not answer; showing what is known"),
    }
    for (path, (reason, detail)) in state.held().await? {
        if reason == held::NOT_SELECTED {
            status.left_out.push(path);
            continue;
        }
        if reason == held::KIND_CONFLICT {
            status.conflicts.push(path.clone());
        }
        let reason = if detail.is_empty() {
            reason
        } else {
            format!("{reason}: {detail}")
        };
        status.held.push(Held { path, reason });
    }
    status.conflicts.extend(
        state
            .base()
            .await?
            .into_keys()
            .filter(|p| p.contains(" (conflict ")),
    );
    status.conflicts.sort();
    status.held.sort_by(|a, b| a.path.cmp(&b.path));
    status.left_out.sort();
    state.close().await;
    Ok(status)
}

/// Print the status of `root`, as text or JSON.
pub async fn print(root: &Path, json: bool) -> Result<()> {
    let s = status(root).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
        return Ok(());
    }
    println!("server:    {} (device {})", s.server, s.device_id);
    println!("last sync: {}", s.last_sync.as_deref().unwrap_or("never"));
    if !s.server_reachable {
        println!("the server did not answer: pending counts are unknown");
    }
    let list = |name: &str, items: &[String]| {
        println!("{name}: {}", items.len());
        for item in items.iter().take(20) {
            println!("  {item}");
        }
    };
    list("pending uploads", &s.pending_uploads);
    list("pending downloads", &s.pending_downloads);
    list("pending deletions", &s.pending_deletions);
    list("uploads in flight", &s.uploads_in_flight);
    list("conflicts", &s.conflicts);
    list("left out by selective sync", &s.left_out);
    println!("held back: {}", s.held.len());
    for h in s.held.iter().take(20) {
        println!("  {} — {}", h.path, h.reason);
    }
    for h in &s.skipped {
        println!("skipped: {} — {}", h.path, h.reason);
    }
    Ok(())
}
