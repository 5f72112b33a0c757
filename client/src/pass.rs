//! One sync pass: pull the feed, look at the folder, decide (see [`crate::plan`])
//! and act, recording each agreement as it is reached.
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;

use crate::api::Api;
use crate::error::{Error, Result};
use crate::local::{self, Scan};
use crate::plan::{self, Action, Inputs, Local};
use crate::pull::pull;
use crate::state::{Base, Kind, Remote, State};
use crate::transfer::{self, Uploaded};

/// A file changed within this long may still be being written…
pub const QUIET: Duration = Duration::from_secs(2);
/// …so it must stay unchanged this long before it is sent.
pub const STEADY: Duration = Duration::from_millis(300);

/// Transfers (uploads, downloads) running at once.
const TRANSFERS: usize = 4;

/// A synced folder with its state and server.
#[derive(Clone, Debug)]
pub struct Folder {
    pub root: PathBuf,
    pub state: State,
    pub api: Api,
    pub device_id: String,
}

/// What a pass would do.
#[derive(Debug)]
pub struct Decision {
    pub actions: Vec<Action>,
    /// Paths still being written.
    pub settling: HashSet<String>,
    /// Paths the walk left alone, with why.
    pub skipped: Vec<(String, String)>,
    /// The server's tree as the mirror holds it.
    pub remote: HashMap<String, Remote>,
}

/// What a pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// Actions that moved something (not agreements or holds).
    pub moved: usize,
    pub uploaded: usize,
    pub downloaded: usize,
    pub removed: usize,
    /// Paths still being written, left for the next pass.
    pub settling: usize,
    /// Paths the server refused (`held` records why).
    pub refused: usize,
    /// Paths the walk left alone, with why.
    pub skipped: Vec<(String, String)>,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.moved += other.moved;
        self.uploaded += other.uploaded;
        self.downloaded += other.downloaded;
        self.removed += other.removed;
        self.refused += other.refused;
    }
}

impl Folder {
    /// Open the folder `root` that `ferry sync init` set up.
    pub async fn open(root: &Path) -> Result<Self> {
        let state = State::open(root).await?;
        let server = state.required("server").await?;
        let device_id = state.required("device_id").await?;
        let ca_cert = state.setting("ca_cert").await?.map(PathBuf::from);
        let token_file = state.dir().join("token");
        let token = std::fs::read_to_string(&token_file)
            .map_err(|e| Error::io(&token_file, e))?
            .trim()
            .to_owned();
        let api = Api::new(&server, ca_cert.as_deref(), Some(token))?;
        Ok(Self {
            root: root.to_owned(),
            state,
            api,
            device_id,
        })
    }

    /// Whether deletions travel for this device: unless its enabled schedules
    /// all say `sync_deletions: false` (no schedule: they travel).
    pub async fn deletions_travel(&self) -> Result<bool> {
        let schedules = self.api.schedules(&self.device_id).await?;
        let enabled: Vec<_> = schedules.iter().filter(|s| s.enabled).collect();
        Ok(enabled.is_empty() || enabled.iter().any(|s| s.sync_deletions))
    }

    /// The folder's entries with their content hashes, reusing the base's hash
    /// while size and mtime are unchanged. A file changed within [`QUIET`] may
    /// still be being written: it is looked at again after [`STEADY`], and
    /// hashed only if it did not change meanwhile (nor while it was hashed);
    /// otherwise it is returned apart, for a later pass.
    async fn look(
        &self,
        base: &HashMap<String, Base>,
    ) -> Result<(HashMap<String, Local>, HashSet<String>, Scan)> {
        let root = self.root.clone();
        let scan = blocking(move || local::scan(&root)).await?;
        let mut entries = HashMap::with_capacity(scan.entries.len());
        let mut settling = HashSet::new();
        let mut young = Vec::new();
        for (path, found) in &scan.entries {
            let sha256 = match found.kind {
                Kind::Folder => None,
                Kind::File => match base.get(path) {
                    Some(b)
                        if b.kind == Kind::File
                            && b.size == found.size
                            && b.mtime_ns == found.mtime_ns =>
                    {
                        b.sha256.clone()
                    }
                    _ if local::is_settling(found.mtime_ns, QUIET) => {
                        young.push(path);
                        continue;
                    }
                    _ => match self.hash_if_steady(path, found).await? {
                        Some(sha256) => Some(sha256),
                        None => {
                            settling.insert(path.clone());
                            continue;
                        }
                    },
                },
            };
            entries.insert(path.clone(), local_entry(found, sha256));
        }
        if !young.is_empty() {
            tokio::time::sleep(STEADY).await;
        }
        for path in young {
            let found = &scan.entries[path];
            let file = local::local_path(&self.root, path);
            let steady = local::stat(&file)?.as_ref() == Some(found);
            match self.hash_if_steady(path, found).await? {
                Some(sha256) if steady => {
                    entries.insert(path.clone(), local_entry(found, Some(sha256)));
                }
                _ => {
                    settling.insert(path.clone());
                }
            }
        }
        Ok((entries, settling, scan))
    }

    /// The SHA-256 of the file at `path`, if it is still `found` after hashing.
    async fn hash_if_steady(&self, path: &str, found: &local::Found) -> Result<Option<String>> {
        let file = local::local_path(&self.root, path);
        let sha256 = {
            let file = file.clone();
            blocking(move || local::hash_file(&file)).await?
        };
        Ok((local::stat(&file)?.as_ref() == Some(found)).then_some(sha256))
    }

    /// Pull, look and decide, without acting.
    pub async fn decide(&self) -> Result<Decision> {
        pull(&self.api, &self.state, &self.device_id, Duration::ZERO).await?;
        let base = self.state.base().await?;
        let remote = self.state.remote().await?;
        let held = self.state.held().await?;
        let (local, settling, scan) = self.look(&base).await?;
        let deletions_travel = self.deletions_travel().await?;
        let not_selected = self.not_selected(&local, &remote).await?;
        let actions = plan::plan(&Inputs {
            base: &base,
            local: &local,
            remote: &remote,
            not_selected: &not_selected,
            deletions_travel,
            held: &held,
        });
        let actions = actions
            .into_iter()
            .filter(|a| !settling.contains(action_path(a)))
            .collect();
        Ok(Decision {
            actions,
            settling,
            skipped: scan.skipped,
            remote,
        })
    }

    /// One pass: pull, look, decide, act.
    pub async fn pass(&self) -> Result<Report> {
        let decision = self.decide().await?;
        let mut report = Report {
            settling: decision.settling.len(),
            skipped: decision.skipped,
            ..Report::default()
        };
        // Agreements and folders first, then transfers side by side, then
        // removals (files, then folders deepest first), in the plan's order.
        let (transfers, rest): (Vec<Action>, Vec<Action>) = decision
            .actions
            .into_iter()
            .partition(|a| matches!(a, Action::Upload { .. } | Action::Download { .. }));
        let (before, after): (Vec<Action>, Vec<Action>) = rest.into_iter().partition(|a| {
            !matches!(
                a,
                Action::RemoveLocalFile { .. }
                    | Action::RemoveLocalFolder { .. }
                    | Action::DeleteRemote { .. }
            )
        });
        for action in before {
            report.add(self.act(action, &decision.remote).await?);
        }
        let remote = &decision.remote;
        let mut running = futures_util::stream::iter(transfers)
            .map(|action| self.act(action, remote))
            .buffer_unordered(TRANSFERS);
        while let Some(done) = running.next().await {
            report.add(done?);
        }
        drop(running);
        for action in after {
            report.add(self.act(action, &decision.remote).await?);
        }
        self.state
            .set_setting("last_sync", &chrono::Utc::now().to_rfc3339())
            .await?;
        Ok(report)
    }

    /// Local paths the server has not got that the device's selective sync
    /// leaves out.
    async fn not_selected(
        &self,
        local: &HashMap<String, Local>,
        remote: &HashMap<String, Remote>,
    ) -> Result<HashSet<String>> {
        let selective = self.state.setting("selective").await?.unwrap_or_default();
        if !any_folder_selected(&selective) {
            // Nothing selected: everything syncs.
            return Ok(HashSet::new());
        }
        let candidates: Vec<String> = local
            .keys()
            .filter(|p| !remote.contains_key(*p))
            .cloned()
            .collect();
        if candidates.is_empty() {
            return Ok(HashSet::new());
        }
        let decisions = self.api.synced(&self.device_id, &candidates).await?;
        Ok(candidates
            .into_iter()
            .zip(decisions)
            .filter(|(_, synced)| !synced)
            .map(|(path, _)| path)
            .collect())
    }

    /// Do one action; what it did. A refusal by the server (or corrupt bytes)
    /// holds the path back and the pass goes on; anything else ends the pass.
    async fn act(&self, action: Action, remote: &HashMap<String, Remote>) -> Result<Report> {
        let path = action_path(&action).to_owned();
        let mut report = Report::default();
        match self.act_on(action, remote, &mut report).await {
            Err(e) if e.is_transient() => Err(e),
            Err(e @ (Error::Server { .. } | Error::Corrupt { .. })) => {
                tracing::warn!(%path, error = %e, "left for later");
                report.refused += 1;
                self.state
                    .set_held(&path, Some(("refused", &e.to_string())))
                    .await?;
                Ok(report)
            }
            Err(e) => Err(e),
            Ok(()) => Ok(report),
        }
    }

    async fn act_on(
        &self,
        action: Action,
        remote: &HashMap<String, Remote>,
        report: &mut Report,
    ) -> Result<()> {
        let state = &self.state;
        match action {
            Action::Agree { path, base } => {
                state.set_base(&path, base.as_ref()).await?;
                if base.is_some() {
                    state.set_held(&path, None).await?;
                }
            }
            Action::Hold {
                path,
                reason,
                detail,
            } => {
                state.set_held(&path, Some((reason, &detail))).await?;
            }
            Action::MakeLocalFolder { path } => {
                let dir = local::local_path(&self.root, &path);
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                if let Some(found) = local::stat(&dir)? {
                    state
                        .set_base(&path, Some(&folder_base(found.mtime_ns)))
                        .await?;
                }
                report.moved += 1;
            }
            Action::RemoveLocalFile { path, local } => {
                let file = local::local_path(&self.root, &path);
                if transfer::unchanged(&file, Some(&local))? {
                    std::fs::remove_file(&file).map_err(|e| Error::io(&file, e))?;
                    state.set_base(&path, None).await?;
                    report.removed += 1;
                    report.moved += 1;
                }
            }
            Action::RemoveLocalFolder { path } => {
                let dir = local::local_path(&self.root, &path);
                // Only an empty folder: anything left in it has not synced yet.
                if std::fs::remove_dir(&dir).is_ok() {
                    state.set_base(&path, None).await?;
                    report.removed += 1;
                    report.moved += 1;
                }
            }
            Action::Download {
                path,
                remote,
                local,
            } => {
                if self.fetch(&path, &remote, local.as_ref()).await? {
                    report.downloaded += 1;
                    report.moved += 1;
                }
            }
            Action::Upload {
                path,
                local,
                base_version,
            } => {
                self.upload(&path, &local, base_version, remote, report)
                    .await?;
            }
            Action::MakeRemoteFolder { path } => {
                self.api.make_folder(&path).await?;
                let dir = local::local_path(&self.root, &path);
                let mtime_ns = local::stat(&dir)?.map_or(0, |f| f.mtime_ns);
                state.set_base(&path, Some(&folder_base(mtime_ns))).await?;
                let folder = Remote {
                    kind: Kind::Folder,
                    version: 0,
                    size: 0,
                    sha256: None,
                    modified_at: chrono::Utc::now().to_rfc3339(),
                };
                state.set_remote(&path, Some(&folder)).await?;
                report.moved += 1;
            }
            Action::DeleteRemote { path, kind } => {
                match kind {
                    Kind::File => self.api.delete_file(&path).await?,
                    Kind::Folder => self.api.delete_folder(&path).await?,
                }
                state.set_base(&path, None).await?;
                state.set_remote(&path, None).await?;
                report.removed += 1;
                report.moved += 1;
            }
        }
        Ok(())
    }

    /// Our upload won a conflict over the server's version `displaced` of
    /// `path`: keep that version too, as a conflict copy next to it (it
    /// syncs like any new file), so no edit disappears from the tree.
    async fn keep_displaced(&self, path: &str, displaced: i64) -> Result<()> {
        let copy = conflict_name(path, displaced, chrono::Utc::now());
        tracing::warn!(path, copy = %copy, "conflict: another device's version is kept as a copy");
        transfer::download_as(&self.api, &self.state, &self.root, path, displaced, &copy).await?;
        Ok(())
    }

    /// Download `remote` to `path` (where `local` must still be) and record
    /// the agreement; whether it was replaced (the local side may have changed).
    async fn fetch(&self, path: &str, remote: &Remote, local: Option<&Local>) -> Result<bool> {
        let found =
            transfer::download(&self.api, &self.state, &self.root, path, remote, local).await?;
        let Some(found) = found else {
            return Ok(false);
        };
        let base = Base {
            kind: Kind::File,
            version: remote.version,
            size: found.size,
            mtime_ns: found.mtime_ns,
            sha256: remote.sha256.clone(),
        };
        self.state.set_base(path, Some(&base)).await?;
        self.state.set_held(path, None).await?;
        Ok(true)
    }

    async fn upload(
        &self,
        path: &str,
        local: &Local,
        base_version: Option<i64>,
        remote: &HashMap<String, Remote>,
        report: &mut Report,
    ) -> Result<()> {
        let state = &self.state;
        let outcome = transfer::upload(
            &self.api,
            state,
            &self.root,
            &self.device_id,
            path,
            local,
            base_version,
        )
        .await?;
        report.moved += 1;
        match outcome {
            Uploaded::Committed(file) => {
                state
                    .set_base(path, Some(&local.agreed(file.version)))
                    .await?;
                state
                    .set_remote(path, Some(&uploaded_remote(local, file.version)))
                    .await?;
                state.set_held(path, None).await?;
                report.uploaded += 1;
            }
            Uploaded::Displaced { file, displaced } => {
                state
                    .set_base(path, Some(&local.agreed(file.version)))
                    .await?;
                state
                    .set_remote(path, Some(&uploaded_remote(local, file.version)))
                    .await?;
                report.uploaded += 1;
                self.keep_displaced(path, displaced).await?;
            }
            Uploaded::ConflictCopy(file) => {
                // The server kept its version; ours is the conflict copy there.
                // Move it aside here too, so the server's version can come down.
                let from = local::local_path(&self.root, path);
                let to = local::local_path(&self.root, &file.path);
                if transfer::unchanged(&from, Some(local))? && local::stat(&to)?.is_none() {
                    std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
                    let moved = local::stat(&to)?.map_or(local.mtime_ns, |f| f.mtime_ns);
                    let copy = Local {
                        mtime_ns: moved,
                        ..local.clone()
                    };
                    state
                        .set_base(&file.path, Some(&copy.agreed(file.version)))
                        .await?;
                    state
                        .set_remote(&file.path, Some(&uploaded_remote(local, file.version)))
                        .await?;
                }
                tracing::warn!(path, conflict_copy = %file.path, "conflict: the server's version was kept");
                if let Some(server) = remote.get(path).filter(|r| r.kind == Kind::File) {
                    self.fetch(path, server, None).await?;
                }
                report.uploaded += 1;
            }
            Uploaded::Earlier | Uploaded::ChangedMeanwhile => {}
        }
        Ok(())
    }
}

/// Whether a selective-sync listing (as the server answers it) selects any folder.
fn any_folder_selected(listing: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(listing)
        .ok()
        .and_then(|v| v.get("folders").and_then(|f| f.as_array()).cloned())
        .is_some_and(|folders| {
            folders
                .iter()
                .any(|f| f.get("enabled").and_then(serde_json::Value::as_bool) == Some(true))
        })
}

/// `/dir/name (conflict vN YYYY-MM-DD HHMMSS).ext` next to `path`.
pub fn conflict_name(path: &str, version: i64, at: chrono::DateTime<chrono::Utc>) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    format!(
        "{dir}/{stem} (conflict v{version} {}){ext}",
        at.format("%Y-%m-%d %H%M%S")
    )
}

fn uploaded_remote(local: &Local, version: i64) -> Remote {
    Remote {
        kind: Kind::File,
        version,
        size: local.size,
        sha256: local.sha256.clone(),
        modified_at: chrono::Utc::now().to_rfc3339(),
    }
}

fn local_entry(found: &local::Found, sha256: Option<String>) -> Local {
    Local {
        kind: found.kind,
        size: found.size,
        mtime_ns: found.mtime_ns,
        sha256,
    }
}

fn folder_base(mtime_ns: i64) -> Base {
    Base {
        kind: Kind::Folder,
        version: 0,
        size: 0,
        mtime_ns,
        sha256: None,
    }
}

fn action_path(action: &Action) -> &str {
    match action {
        Action::Agree { path, .. }
        | Action::Download { path, .. }
        | Action::MakeLocalFolder { path }
        | Action::RemoveLocalFile { path, .. }
        | Action::RemoveLocalFolder { path }
        | Action::Upload { path, .. }
        | Action::MakeRemoteFolder { path }
        | Action::DeleteRemote { path, .. }
        | Action::Hold { path, .. } => path,
    }
}

/// Run blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Setup(format!("a background task failed: {e}")))?
}
