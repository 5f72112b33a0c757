//! Pulling the changes feed into the mirror of the server's tree.
use std::time::Duration;

use crate::api::{Api, Change};
use crate::error::Result;
use crate::state::{Kind, Remote, State};

/// The feed into the mirror until it has nothing more; waits up to `wait` for
/// the first change. Returns how many changes were applied. A cursor the
/// server cannot serve any more, or a changed selective sync, starts a listing.
pub async fn pull(api: &Api, state: &State, device_id: &str, wait: Duration) -> Result<usize> {
    let selective = api.selective(device_id).await?.to_string();
    let mut cursor = state.setting("cursor").await?;
    if state.setting("selective").await?.as_deref() != Some(selective.as_str()) {
        // What this device holds changed: list the tree again.
        cursor = None;
    }
    let mut applied = 0;
    let mut wait = wait;
    loop {
        let page = match api.changes(device_id, cursor.as_deref(), wait).await {
            Err(e) if e.code() == Some("cursor_expired") && cursor.is_some() => {
                tracing::warn!("the server cannot continue from the saved cursor; listing again");
                cursor = None;
                continue;
            }
            other => other?,
        };
        let mut tx = state.feed_page().await?;
        if cursor.is_none() {
            tx.clear().await?;
        }
        applied += page.changes.len();
        for change in &page.changes {
            apply(&mut tx, change).await?;
        }
        tx.commit(&page.cursor).await?;
        cursor = Some(page.cursor);
        wait = Duration::ZERO;
        if !page.has_more {
            state.set_setting("selective", &selective).await?;
            return Ok(applied);
        }
    }
}

async fn apply(tx: &mut crate::state::FeedPage<'_>, change: &Change) -> Result<()> {
    let kind = match change.kind.as_str() {
        "file" => Kind::File,
        "folder" => Kind::Folder,
        "delete" => return tx.remove(&change.path).await,
        other => {
            tracing::warn!(kind = other, path = %change.path, "unknown change kind ignored");
            return Ok(());
        }
    };
    let remote = Remote {
        kind,
        version: change.version,
        size: change.size,
        sha256: change.sha256.clone(),
        modified_at: change.modified_at.clone(),
    };
    tx.put(&change.path, &remote).await?;
    let blocks: Option<Vec<(String, u64)>> = change
        .blocks
        .as_ref()
        .map(|list| list.iter().map(|b| (b.sha256.clone(), b.size)).collect());
    tx.put_blocks(&change.path, change.version, blocks.as_deref())
        .await
}
