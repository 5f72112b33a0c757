//! Driving real `ferry sync` processes against a test server: one synced
//! folder per device, snapshots of folder trees, and waiting for convergence.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// What a folder holds: path → file bytes (`None` for a folder), `.ferry/` left out.
pub type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// One device: a synced folder and the `ferry sync` commands run on it.
#[derive(Debug)]
pub struct Device {
    pub dir: PathBuf,
    _tmp: TempDir,
    bin: String,
    watcher: Option<Child>,
}

impl Device {
    /// `ferry sync init` a fresh folder as `user` (password `password`) on
    /// `device`, with the `ferry` binary `bin` (a test's
    /// `env!("CARGO_BIN_EXE_ferry-under-test")`).
    pub async fn init(bin: &str, base: &str, user: &str, password: &str, device: &str) -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let dir = tmp.path().join(device);
        let bin = bin.to_owned();
        let mut child = Command::new(&bin)
            .args(["sync", "init"])
            .arg(&dir)
            .args(["--server", base, "--user", user, "--device", device])
            .arg("--password-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn ferry sync init");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .await
            .expect("password");
        drop(stdin);
        let out = child.wait_with_output().await.expect("init");
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir,
            _tmp: tmp,
            bin,
            watcher: None,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .arg("sync")
            .args(args)
            .arg(&self.dir)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// `ferry sync run`: its exit status and output (bounded to 15 minutes).
    pub async fn run(&self) -> (bool, String) {
        let out = tokio::time::timeout(Duration::from_secs(900), self.command(&["run"]).output())
            .await
            .expect("ferry sync run finished in time")
            .expect("ferry sync run");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// `ferry sync run` as a child process (to be killed).
    pub fn spawn_run(&self) -> Child {
        self.command(&["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry sync run")
    }

    /// `ferry sync run`, which must succeed.
    pub async fn sync(&self) {
        let (ok, out) = self.run().await;
        assert!(ok, "ferry sync run failed:\n{out}");
    }

    /// `ferry sync status --json`.
    pub async fn status(&self) -> serde_json::Value {
        let out = self
            .command(&["status", "--json"])
            .output()
            .await
            .expect("status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    /// Start `ferry sync watch` in the background (its log in `.ferry/watch.log`).
    pub fn watch(&mut self) {
        let log = std::fs::File::create(self.dir.join(".ferry/watch.log")).expect("log");
        let child = self
            .command(&["watch"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn ferry sync watch");
        self.watcher = Some(child);
    }

    /// The watcher's log so far.
    pub fn watch_log(&self) -> String {
        std::fs::read_to_string(self.dir.join(".ferry/watch.log")).unwrap_or_default()
    }

    /// Stop the watcher with SIGTERM and wait for it.
    pub async fn stop_watching(&mut self) {
        if let Some(mut child) = self.watcher.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
        }
    }

    /// `path` (a server path) under this folder.
    pub fn path(&self, path: &str) -> PathBuf {
        self.dir.join(path.trim_start_matches('/'))
    }

    /// Write a file, making its folders.
    pub fn write(&self, path: &str, bytes: &[u8]) {
        let file = self.path(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, bytes).expect("write");
    }

    /// What the folder holds now.
    pub fn tree(&self) -> Tree {
        let mut tree = Tree::new();
        snapshot(&self.dir, "", &mut tree);
        tree
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(child) = self.watcher.as_mut() {
            let _ = child.start_kill();
        }
    }
}

fn snapshot(dir: &Path, prefix: &str, tree: &mut Tree) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefix.is_empty() && name == ".ferry" {
            continue;
        }
        let path = format!("{prefix}/{name}");
        let file_type = entry.file_type().expect("file type");
        if file_type.is_dir() {
            tree.insert(path.clone(), None);
            snapshot(&entry.path(), &path, tree);
        } else if file_type.is_file() {
            tree.insert(path, Some(std::fs::read(entry.path()).expect("read")));
        }
    }
}

/// Wait (at most `limit`) until every device's tree equals the first's and
/// `done` accepts it; the tree.
pub async fn converge(devices: &[&Device], limit: Duration, done: impl Fn(&Tree) -> bool) -> Tree {
    let until = tokio::time::Instant::now() + limit;
    loop {
        let first = devices[0].tree();
        if done(&first) && devices[1..].iter().all(|d| d.tree() == first) {
            return first;
        }
        if tokio::time::Instant::now() > until {
            let shown: Vec<String> = devices
                .iter()
                .map(|d| {
                    format!(
                        "{}: {:?}\nlog: {}",
                        d.dir.display(),
                        d.tree().keys().collect::<Vec<_>>(),
                        d.watch_log()
                    )
                })
                .collect();
            panic!(
                "the devices did not converge in {limit:?}:\n{}",
                shown.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
