//! The changes feed in GraphQL: `changes(deviceId, after, first)` and the
//! `fileChanges(deviceId)` subscription.
use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums;

use super::types::ByteCount;
use crate::service::files::changes;

/// What a change did to its path.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "enums::ChangeKind")]
pub enum FileChangeKind {
    /// A file now holds `version`.
    File,
    /// A folder now exists.
    Folder,
    /// Whatever was at the path is gone.
    Delete,
}

/// One change of the caller's tree.
#[derive(SimpleObject, Debug)]
pub struct FileChange {
    pub path: String,
    pub kind: FileChangeKind,
    /// The file's version (a deletion: the version deleted; folders: 0).
    pub version: i32,
    pub size: ByteCount,
    pub sha256: Option<String>,
    pub modified_at: DateTime<Utc>,
}

impl From<changes::Change> for FileChange {
    fn from(c: changes::Change) -> Self {
        Self {
            path: c.path,
            kind: c.kind.into(),
            version: c.version,
            size: c.size.into(),
            sha256: c.sha256,
            modified_at: c.modified_at,
        }
    }
}

/// A page of the changes feed.
#[derive(SimpleObject, Debug)]
pub struct ChangePage {
    pub changes: Vec<FileChange>,
    /// Pass it back as `after` for the next page.
    pub cursor: String,
    /// More is there right now.
    pub has_more: bool,
}

impl From<changes::ChangePage> for ChangePage {
    fn from(p: changes::ChangePage) -> Self {
        Self {
            changes: p.changes.into_iter().map(Into::into).collect(),
            cursor: p.cursor,
            has_more: p.has_more,
        }
    }
}
