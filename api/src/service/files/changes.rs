//! Reading the changes feed: what a device must apply to hold the caller's tree
//! (its selective sync applied), as pages behind an opaque cursor.
//!
//! Without a cursor a device first gets the whole tree as it is (folders, then
//! files), then every change logged after the moment that listing began, in
//! commit order (see [`Cursor`]).
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{enums::ChangeKind, file_metadata, folder, tree_change, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Code, Error, Result};
use crate::service::sync::selective::{Folder, is_synced};
use crate::service::{Caller, Services};

use super::change_blocks::{BlockRef, MAX_ENTRY_BLOCKS, MAX_PAGE_BLOCKS};
use super::change_cursor::Cursor;

/// Changes a page holds when the client does not say.
pub const DEFAULT_LIMIT: u32 = 1_000;
/// Changes a page holds at most.
pub const MAX_LIMIT: u32 = 10_000;
/// The longest a request may wait for a change.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// While waiting, the feed is read again this often even without a signal (a
/// change committed by another server sharing the database).
const RECHECK: Duration = Duration::from_secs(2);
/// Rows read per page at most, filtered out ones included.
const SCAN_FACTOR: u64 = 8;
/// One entry of the feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    /// The file's version (a deletion: the version deleted; folders: 0).
    pub version: i32,
    pub size: u64,
    pub sha256: Option<String>,
    pub modified_at: DateTime<Utc>,
    /// A file stored in more than one block: its blocks in order, so a client
    /// fetches only those it does not hold (see [`MAX_ENTRY_BLOCKS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<BlockRef>>,
}

/// A page of the feed.
#[derive(Clone, Debug, Serialize)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Where the next page starts: pass it back as `cursor`.
    pub cursor: String,
    /// More is there right now: ask again at once.
    pub has_more: bool,
}

/// Whether a device with selective-sync `folders` holds `change`: its path is
/// synced, or it is a folder (or a folder's deletion) above a synced folder.
fn relevant(folders: &[Folder], change: &Change) -> bool {
    if is_synced(folders, &change.path) {
        return true;
    }
    change.kind != ChangeKind::File
        && folders
            .iter()
            .any(|f| f.enabled && crate::service::files::paths::is_within(&f.path, &change.path))
}

fn size_of(bytes: i64) -> u64 {
    u64::try_from(bytes).unwrap_or(0)
}

impl Services {
    /// A page of the caller's changes for their device `device_id`, after
    /// `cursor` (none: the whole tree first). With `wait`, an empty answer
    /// waits up to that long (at most [`MAX_WAIT`]) for a change.
    pub async fn changes(
        &self,
        caller: &Caller,
        device_id: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
        wait: Option<Duration>,
    ) -> Result<ChangePage> {
        let cursor = cursor.map(Cursor::decode).transpose()?;
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(
                Error::new(Code::InvalidValue, format!("limit must be 1–{MAX_LIMIT}"))
                    .on_field("limit"),
            );
        }
        let device = self
            .resolve_device(caller, caller.user_id, device_id)
            .await?;
        let folders = self.selective_folders(device.id).await?;
        let wait = wait.unwrap_or_default().min(MAX_WAIT);
        let deadline = tokio::time::Instant::now() + wait;
        // Listen before reading, so no change slips between the read and the wait.
        let mut signals = self.inner.events.subscribe_trees();
        loop {
            let page = self
                .read_changes(caller.user_id, &folders, cursor.clone(), limit)
                .await?;
            let now = tokio::time::Instant::now();
            if !page.changes.is_empty() || page.has_more || now >= deadline {
                let mut page = page;
                self.attach_blocks(&mut page.changes).await?;
                return Ok(page);
            }
            let until = deadline.min(now + RECHECK);
            let user_id = caller.user_id;
            let signalled = async {
                loop {
                    match signals.recv().await {
                        Ok(changed) if changed != user_id => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await;
                        }
                        _ => return,
                    }
                }
            };
            let _ = tokio::time::timeout_at(until, signalled).await;
        }
    }

    /// Every change of the caller's tree that their device `device_id` holds,
    /// from now on, as it commits (the subscription form of [`Self::changes`]).
    pub async fn watch_changes(
        &self,
        caller: &Caller,
        device_id: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Change>> {
        use futures_util::StreamExt;
        let device = self
            .resolve_device(caller, caller.user_id, device_id)
            .await?;
        let start = Cursor::Changes {
            seq: self.change_seq(caller.user_id).await?,
        };
        let state = (
            self.clone(),
            caller.clone(),
            device.device_id,
            start.encode(),
            std::collections::VecDeque::<Change>::new(),
        );
        let feed = futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(change) = state.4.pop_front() {
                    return Some((change, state));
                }
                let (services, caller, device_id, cursor, _) = &state;
                let wait = Some(MAX_WAIT);
                match services
                    .changes(caller, device_id, Some(cursor), None, wait)
                    .await
                {
                    Ok(page) => {
                        state.3 = page.cursor;
                        state.4.extend(page.changes);
                    }
                    // A passing failure (the database away): try again shortly.
                    Err(err) if err.is_internal() => {
                        err.log_if_internal("changes feed");
                        tokio::time::sleep(RECHECK).await;
                    }
                    // The device or the user went away: the feed ends.
                    Err(_) => return None,
                }
            }
        });
        Ok(feed.boxed())
    }

    /// Give each file change of a page the block list of its content, within
    /// the page's budget.
    async fn attach_blocks(&self, changes: &mut [Change]) -> Result<()> {
        let wanted: Vec<String> = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::File && c.size > 0)
            .filter_map(|c| c.sha256.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lists = self.block_lists(&wanted).await?;
        let mut budget = MAX_PAGE_BLOCKS;
        for change in changes.iter_mut().filter(|c| c.kind == ChangeKind::File) {
            let Some(list) = change.sha256.as_ref().and_then(|sha| lists.get(sha)) else {
                continue;
            };
            if list.len() > 1 && list.len() <= MAX_ENTRY_BLOCKS && list.len() <= budget {
                budget -= list.len();
                change.blocks = Some(list.clone());
            }
        }
        Ok(())
    }

    /// The caller's latest change number (what a fresh cursor starts from).
    async fn change_seq(&self, user_id: Uuid) -> Result<i64> {
        user::Entity::find_by_id(user_id)
            .select_only()
            .column(user::Column::ChangeSeq)
            .into_tuple()
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("user"))
    }

    async fn read_changes(
        &self,
        user_id: Uuid,
        folders: &[Folder],
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<ChangePage> {
        let latest = self.change_seq(user_id).await?;
        let mut cursor = match cursor {
            Some(cursor) if cursor.seq() > latest => {
                return Err(Error::new(
                    Code::CursorExpired,
                    "this cursor is ahead of the server's changes (a restored database?); list again",
                ));
            }
            Some(cursor) => cursor,
            None => Cursor::Folders {
                seq: latest,
                after: None,
            },
        };
        let limit = limit as usize;
        let mut changes = Vec::new();
        let mut budget = limit as u64 * SCAN_FACTOR;
        loop {
            let want = limit - changes.len();
            let (next, scanned, done) = self
                .read_phase(user_id, folders, &cursor, want, &mut changes)
                .await?;
            budget = budget.saturating_sub(scanned);
            cursor = next;
            let listing_done = done && !matches!(cursor, Cursor::Changes { .. });
            if listing_done {
                cursor = match cursor {
                    Cursor::Folders { seq, .. } => Cursor::Files { seq, after: None },
                    Cursor::Files { seq, .. } | Cursor::Changes { seq } => Cursor::Changes { seq },
                };
                continue;
            }
            let has_more = !done;
            if changes.len() >= limit || done || budget == 0 {
                return Ok(ChangePage {
                    changes,
                    cursor: cursor.encode(),
                    has_more,
                });
            }
        }
    }

    /// Read up to `want` entries of `cursor`'s phase, keeping those the device
    /// holds in `out`; returns the cursor after the last row read, how many
    /// rows were read, and whether the phase has nothing more.
    async fn read_phase(
        &self,
        user_id: Uuid,
        folders: &[Folder],
        cursor: &Cursor,
        want: usize,
        out: &mut Vec<Change>,
    ) -> Result<(Cursor, u64, bool)> {
        let fetch = want as u64 + 1;
        let (read, next, done) = match cursor {
            Cursor::Folders { seq, after } => {
                let mut query = folder::Entity::find().filter(folder::Column::UserId.eq(user_id));
                if let Some(after) = after {
                    query = query.filter(folder::Column::Path.gt(after.as_str()));
                }
                let rows = query.order_by_asc(folder::Column::Path).limit(fetch);
                let (rows, done) = first(rows.all(self.db()).await?, want);
                let after = rows
                    .last()
                    .map(|r| r.path.clone())
                    .or_else(|| after.clone());
                let read: Vec<Change> = rows.into_iter().map(folder_change).collect();
                (read, Cursor::Folders { seq: *seq, after }, done)
            }
            Cursor::Files { seq, after } => {
                let mut query = file_metadata::Entity::find()
                    .filter(file_metadata::Column::UserId.eq(user_id))
                    .filter(file_metadata::Column::DeletedAt.is_null());
                if let Some(after) = after {
                    query = query.filter(file_metadata::Column::Id.gt(*after));
                }
                let rows = query.order_by_asc(file_metadata::Column::Id).limit(fetch);
                let (rows, done) = first(rows.all(self.db()).await?, want);
                let after = rows.last().map(|r| r.id).or(*after);
                let read: Vec<Change> = rows.into_iter().map(file_change).collect();
                (read, Cursor::Files { seq: *seq, after }, done)
            }
            Cursor::Changes { seq } => {
                let rows = tree_change::Entity::find()
                    .filter(tree_change::Column::UserId.eq(user_id))
                    .filter(tree_change::Column::Seq.gt(*seq))
                    .order_by_asc(tree_change::Column::Seq)
                    .limit(fetch);
                let (rows, done) = first(rows.all(self.db()).await?, want);
                let seq = rows.last().map_or(*seq, |r| r.seq);
                let read: Vec<Change> = rows.into_iter().map(logged_change).collect();
                (read, Cursor::Changes { seq }, done)
            }
        };
        let scanned = read.len() as u64;
        out.extend(read.into_iter().filter(|c| relevant(folders, c)));
        Ok((next, scanned, done))
    }
}

/// At most `want` of `rows` (read with one more), and whether that was all.
fn first<T>(mut rows: Vec<T>, want: usize) -> (Vec<T>, bool) {
    let done = rows.len() <= want;
    rows.truncate(want);
    (rows, done)
}

fn folder_change(row: folder::Model) -> Change {
    Change {
        path: row.path,
        kind: ChangeKind::Folder,
        version: 0,
        size: 0,
        sha256: None,
        modified_at: row.created_at,
        blocks: None,
    }
}

fn file_change(row: file_metadata::Model) -> Change {
    Change {
        path: row.path,
        kind: ChangeKind::File,
        version: row.version,
        size: size_of(row.size),
        sha256: Some(row.sha256),
        modified_at: row.modified_at,
        blocks: None,
    }
}

fn logged_change(row: tree_change::Model) -> Change {
    Change {
        path: row.path,
        kind: row.kind,
        version: row.version,
        size: size_of(row.size),
        sha256: row.sha256,
        modified_at: row.modified_at,
        blocks: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_above_a_selected_folder_are_kept() {
        let folders = vec![Folder {
            path: "/Docs/Work".into(),
            enabled: true,
            include_subfolders: true,
        }];
        let at = Utc::now();
        let change = |path: &str, kind| Change {
            path: path.into(),
            kind,
            version: 0,
            size: 0,
            sha256: None,
            modified_at: at,
            blocks: None,
        };
        assert!(relevant(&folders, &change("/Docs", ChangeKind::Folder)));
        assert!(relevant(&folders, &change("/Docs", ChangeKind::Delete)));
        assert!(relevant(
            &folders,
            &change("/Docs/Work/a", ChangeKind::File)
        ));
        assert!(!relevant(&folders, &change("/Docs/a", ChangeKind::File)));
        assert!(!relevant(&folders, &change("/Music", ChangeKind::Folder)));
    }
}
