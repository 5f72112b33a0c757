//! Deciding what one pass does: for every path, the merge base (what both
//! sides last agreed on), the local entry and the server's entry give one
//! action. A side "changed" when it differs from the base (content by SHA-256,
//! or kind); a conflict is a change on both sides to different content.
//!
//! Pure: no I/O, so every rule is tested on its own.
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::state::{Base, Kind, Remote};

/// Why a path is held back (kept in `.ferry/state.db`, shown by `status`).
pub mod held {
    /// Deleted here while deletions do not travel: not downloaded again while
    /// the server keeps the version in `detail`.
    pub const DELETED_HERE: &str = "deleted_here";
    /// Deleted on the server while deletions do not travel: the local copy is
    /// kept and not uploaded again while its SHA-256 is `detail`.
    pub const DELETED_ON_SERVER: &str = "deleted_on_server";
    /// Outside the device's selective sync, never synced: left alone.
    pub const NOT_SELECTED: &str = "not_selected";
    /// De-selected with changes that never reached the server: kept.
    pub const NOT_SELECTED_UNSYNCED: &str = "not_selected_unsynced";
    /// A file on one side where the other has a folder: left for a person.
    pub const KIND_CONFLICT: &str = "kind_conflict";
}

/// One local entry with its content hash (files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Local {
    pub kind: Kind,
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: Option<String>,
}

impl Local {
    /// The base recording that the server holds this content as `version`.
    pub fn agreed(&self, version: i64) -> Base {
        Base {
            kind: self.kind,
            version,
            size: self.size,
            mtime_ns: self.mtime_ns,
            sha256: self.sha256.clone(),
        }
    }
}

/// What one pass does to one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Both sides agree: record it (`None`: the path is gone on both).
    Agree {
        path: String,
        base: Option<Base>,
    },
    /// Fetch the server's file; `local` is what was here when planned (it must
    /// still be, or the file changed meanwhile and the next pass decides).
    Download {
        path: String,
        remote: Remote,
        local: Option<Local>,
    },
    MakeLocalFolder {
        path: String,
    },
    /// Remove the unchanged local file (`local` must still be what is there).
    RemoveLocalFile {
        path: String,
        local: Local,
    },
    /// Remove the local folder if it is empty by then.
    RemoveLocalFolder {
        path: String,
    },
    /// Send the local file; `base_version` lets the server detect a conflict.
    Upload {
        path: String,
        local: Local,
        base_version: Option<i64>,
    },
    MakeRemoteFolder {
        path: String,
    },
    DeleteRemote {
        path: String,
        kind: Kind,
    },
    /// Hold the path back for `reason` (see [`held`]).
    Hold {
        path: String,
        reason: &'static str,
        detail: String,
    },
}

impl Action {
    /// The order actions run in: agreements, then folders to make (parents
    /// first), transfers, file removals, and folder removals (deepest first).
    fn order(&self) -> (u8, i64, &str) {
        match self {
            Self::Agree { path, .. } | Self::Hold { path, .. } => (0, 0, path),
            Self::MakeLocalFolder { path } | Self::MakeRemoteFolder { path } => (1, 0, path),
            Self::Download { path, .. } | Self::Upload { path, .. } => (2, 0, path),
            Self::RemoveLocalFile { path, .. }
            | Self::DeleteRemote {
                path,
                kind: Kind::File,
            } => (3, 0, path),
            Self::RemoveLocalFolder { path }
            | Self::DeleteRemote {
                path,
                kind: Kind::Folder,
            } => (4, -(path.matches('/').count() as i64), path),
        }
    }
}

/// What a pass knows when it decides.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub base: &'a HashMap<String, Base>,
    pub local: &'a HashMap<String, Local>,
    pub remote: &'a HashMap<String, Remote>,
    /// Local paths the server does not sync to this device.
    pub not_selected: &'a HashSet<String>,
    /// Whether deletions travel (the device's `sync_deletions`).
    pub deletions_travel: bool,
    /// Paths held back: path → (reason, detail).
    pub held: &'a HashMap<String, (String, String)>,
}

fn same_content(
    kind: Kind,
    sha: Option<&String>,
    other_kind: Kind,
    other: Option<&String>,
) -> bool {
    kind == other_kind && (kind == Kind::Folder || sha == other)
}

fn local_matches(local: Option<&Local>, base: Option<&Base>) -> bool {
    match (local, base) {
        (None, None) => true,
        (Some(l), Some(b)) => same_content(l.kind, l.sha256.as_ref(), b.kind, b.sha256.as_ref()),
        _ => false,
    }
}

fn remote_matches(remote: Option<&Remote>, base: Option<&Base>) -> bool {
    match (remote, base) {
        (None, None) => true,
        (Some(r), Some(b)) => same_content(r.kind, r.sha256.as_ref(), b.kind, b.sha256.as_ref()),
        _ => false,
    }
}

fn is_held(inputs: &Inputs<'_>, path: &str, reason: &str, detail: &str) -> bool {
    inputs
        .held
        .get(path)
        .is_some_and(|(r, d)| r == reason && d == detail)
}

/// Every action of one pass, in the order to run them.
pub fn plan(inputs: &Inputs<'_>) -> Vec<Action> {
    let paths: BTreeSet<&String> = inputs
        .base
        .keys()
        .chain(inputs.local.keys())
        .chain(inputs.remote.keys())
        .collect();
    let mut actions = Vec::new();
    for path in paths {
        decide(inputs, path, &mut actions);
    }
    actions.sort_by(|a, b| a.order().cmp(&b.order()));
    actions
}

fn decide(inputs: &Inputs<'_>, path: &str, out: &mut Vec<Action>) {
    let b = inputs.base.get(path);
    let l = inputs.local.get(path);
    let r = inputs.remote.get(path);
    let path = path.to_owned();
    if let (Some(l), None) = (l, r)
        && inputs.not_selected.contains(&path)
    {
        return outside_selection(path, l, b, out);
    }
    let both_agree = match (l, r) {
        (None, None) => true,
        (Some(l), Some(r)) => same_content(l.kind, l.sha256.as_ref(), r.kind, r.sha256.as_ref()),
        _ => false,
    };
    if both_agree {
        let base = l.zip(r).map(|(l, r)| l.agreed(r.version));
        if base.as_ref() != b {
            out.push(Action::Agree { path, base });
        }
        return;
    }
    match (local_matches(l, b), remote_matches(r, b)) {
        (true, _) => apply_remote(inputs, path, l, r, out),
        (false, true) => push_local(inputs, path, l, r, b, out),
        (false, false) => conflict(path, l, r, b, out),
    }
}

/// A local path the device's selective sync leaves out.
fn outside_selection(path: String, l: &Local, b: Option<&Base>, out: &mut Vec<Action>) {
    match b {
        // De-selected and unchanged: the local copy goes.
        Some(b) if local_matches(Some(l), Some(b)) => out.push(match l.kind {
            Kind::File => Action::RemoveLocalFile {
                path,
                local: l.clone(),
            },
            Kind::Folder => Action::RemoveLocalFolder { path },
        }),
        Some(_) => out.push(Action::Hold {
            path,
            reason: held::NOT_SELECTED_UNSYNCED,
            detail: String::new(),
        }),
        None => out.push(Action::Hold {
            path,
            reason: held::NOT_SELECTED,
            detail: String::new(),
        }),
    }
}

/// A file on one side where the other has a folder: left for a person.
fn kind_conflict(path: String) -> Action {
    Action::Hold {
        path,
        reason: held::KIND_CONFLICT,
        detail: String::new(),
    }
}

/// Deletions do not travel: the base forgets `path` and it is held back for
/// `reason` while `detail` (the other side's version or content) holds.
fn deletion_stays(path: String, reason: &'static str, detail: String, out: &mut Vec<Action>) {
    out.push(Action::Agree {
        path: path.clone(),
        base: None,
    });
    out.push(Action::Hold {
        path,
        reason,
        detail,
    });
}

/// Only the server changed: do what it did here.
fn apply_remote(
    inputs: &Inputs<'_>,
    path: String,
    l: Option<&Local>,
    r: Option<&Remote>,
    out: &mut Vec<Action>,
) {
    match (l, r) {
        (Some(l), None) if !inputs.deletions_travel => {
            let detail = l.sha256.clone().unwrap_or_default();
            deletion_stays(path, held::DELETED_ON_SERVER, detail, out);
        }
        (Some(l), None) => out.push(match l.kind {
            Kind::File => Action::RemoveLocalFile {
                path,
                local: l.clone(),
            },
            Kind::Folder => Action::RemoveLocalFolder { path },
        }),
        (_, Some(r)) if is_held(inputs, &path, held::DELETED_HERE, &r.version.to_string()) => {}
        (Some(l), Some(r)) if l.kind != r.kind => out.push(kind_conflict(path)),
        (_, Some(r)) if r.kind == Kind::Folder => out.push(Action::MakeLocalFolder { path }),
        (l, Some(r)) => out.push(Action::Download {
            path,
            remote: r.clone(),
            local: l.cloned(),
        }),
        (None, None) => {}
    }
}

/// Only this side changed: tell the server.
fn push_local(
    inputs: &Inputs<'_>,
    path: String,
    l: Option<&Local>,
    r: Option<&Remote>,
    b: Option<&Base>,
    out: &mut Vec<Action>,
) {
    match (l, r) {
        (None, Some(r)) if !inputs.deletions_travel => {
            deletion_stays(path, held::DELETED_HERE, r.version.to_string(), out);
        }
        (None, Some(r)) => out.push(Action::DeleteRemote { path, kind: r.kind }),
        (Some(l), _)
            if is_held(
                inputs,
                &path,
                held::DELETED_ON_SERVER,
                l.sha256.as_deref().unwrap_or_default(),
            ) => {}
        (Some(l), Some(r)) if l.kind != r.kind => out.push(kind_conflict(path)),
        (Some(l), _) if l.kind == Kind::Folder => out.push(Action::MakeRemoteFolder { path }),
        (Some(l), _) => out.push(Action::Upload {
            path,
            local: l.clone(),
            base_version: Some(b.map_or(0, |b| b.version)),
        }),
        (None, None) => {}
    }
}

/// Both sides changed, differently. An edit beats a deletion; two edits go to
/// the server with the base version and its strategy decides.
fn conflict(
    path: String,
    l: Option<&Local>,
    r: Option<&Remote>,
    b: Option<&Base>,
    out: &mut Vec<Action>,
) {
    match (l, r) {
        (None, Some(r)) if r.kind == Kind::Folder => out.push(Action::MakeLocalFolder { path }),
        (None, Some(r)) => out.push(Action::Download {
            path,
            remote: r.clone(),
            local: None,
        }),
        (Some(l), None) if l.kind == Kind::Folder => out.push(Action::MakeRemoteFolder { path }),
        (Some(l), None) => out.push(Action::Upload {
            path,
            local: l.clone(),
            base_version: None,
        }),
        (Some(l), Some(r)) if l.kind == Kind::File && r.kind == Kind::File => {
            out.push(Action::Upload {
                path,
                local: l.clone(),
                base_version: Some(b.map_or(0, |b| b.version)),
            });
        }
        (Some(_), Some(_)) => out.push(kind_conflict(path)),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests;
