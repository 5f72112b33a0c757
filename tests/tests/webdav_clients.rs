//! Real WebDAV clients from Debian against the real server: the `litmus`
//! compliance suite, `rclone` syncing a tree up and back down, and a `cadaver`
//! session. `.ci/run` installs all three; a missing one fails, never skips.
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Output,
};

use ferry_tests::{ADMIN, ADMIN_PASSWORD, Backend, TestServer, random_bytes, sha256_hex};
use tempfile::TempDir;
use tokio::{io::AsyncWriteExt, process::Command};

/// Run `program`, failing the test with a clear message when it is not installed.
async fn run(command: &mut Command, stdin: Option<&str>) -> Output {
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let program = format!("{:?}", command.as_std().get_program());
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}); `.ci/run` installs it (apt-get install litmus rclone cadaver)")
    });
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .await
            .expect("stdin");
    }
    child.wait_with_output().await.expect("wait")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn litmus_passes(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let work = TempDir::new().expect("temp");
    let output = run(
        Command::new("litmus")
            .current_dir(work.path())
            .env("TESTS", "basic copymove props locks http")
            .arg(server.url("/webdav/"))
            .arg(ADMIN)
            .arg(ADMIN_PASSWORD),
        None,
    )
    .await;
    let report = text(&output);
    for group in ["basic", "copymove", "props", "locks", "http"] {
        let summary = report
            .lines()
            .find(|l| l.starts_with(&format!("<- summary for `{group}'")))
            .unwrap_or_else(|| panic!("no summary for {group}:\n{report}"));
        assert!(
            summary.contains(" 0 failed"),
            "{group}: {summary}\n{report}"
        );
    }
    assert!(!report.contains("SKIPPED"), "{report}");
    assert!(output.status.success(), "{report}");
}

#[tokio::test]
async fn litmus_passes_every_group_sqlite() {
    litmus_passes(Backend::Sqlite).await;
}

#[tokio::test]
async fn litmus_passes_every_group_postgres() {
    litmus_passes(Backend::Postgres).await;
}

/// Names that stress encoding: spaces, unicode (NFC), reserved URL characters.
const NAMES: [&str; 10] = [
    "plain.txt",
    "with space.txt",
    "Ünïcödé.txt",
    "日本語のファイル.md",
    "фото.jpg",
    "percent 100%.txt",
    "hash#tag.txt",
    "plus+sign&amp.txt",
    "emoji 🚀.bin",
    "semi;colon,comma.txt",
];

/// 199 small files in nested folders plus one of `big` bytes: 200 in all.
fn make_tree(root: &Path, big: usize) {
    let folders = [
        "",
        "docs",
        "docs/2026",
        "Fotos/Urlaub Été",
        "deep/a/b/c/d",
        "日本",
    ];
    let mut n = 0;
    'fill: for round in 0.. {
        for folder in folders {
            for name in NAMES {
                if n == 199 {
                    break 'fill;
                }
                let dir = root.join(folder);
                std::fs::create_dir_all(&dir).expect("mkdir");
                let body = random_bytes(1 + (n * 997) % 20_000, n as u64);
                std::fs::write(dir.join(format!("{round}-{name}")), body).expect("write");
                n += 1;
            }
        }
    }
    std::fs::write(root.join("big.bin"), random_bytes(big, 42)).expect("big");
}

/// Every file below `root` by relative path, with its SHA-256.
fn digest_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    ferry_tests::files_below(root)
        .into_iter()
        .map(|p| {
            let body = std::fs::read(&p).expect("read");
            (
                p.strip_prefix(root).expect("below").to_path_buf(),
                sha256_hex(&body),
            )
        })
        .collect()
}

#[tokio::test]
async fn rclone_syncs_a_tree_up_and_back_identical() {
    let server = TestServer::start().await;
    let work = TempDir::new().expect("temp");
    let source = work.path().join("source");
    let back = work.path().join("back");
    make_tree(&source, 200 << 20);
    let config = work.path().join("rclone.conf");
    std::fs::write(&config, "").expect("config");
    let obscured = run(
        Command::new("rclone")
            .arg("obscure")
            .arg(ADMIN_PASSWORD)
            .arg("--config")
            .arg(&config),
        None,
    )
    .await;
    assert!(obscured.status.success(), "{}", text(&obscured));
    let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_owned();
    let rclone = |args: &[&str]| {
        let mut command = Command::new("rclone");
        command
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("RCLONE_CONFIG_FERRY_TYPE", "webdav")
            .env("RCLONE_CONFIG_FERRY_URL", server.url("/webdav"))
            .env("RCLONE_CONFIG_FERRY_VENDOR", "other")
            .env("RCLONE_CONFIG_FERRY_USER", ADMIN)
            .env("RCLONE_CONFIG_FERRY_PASS", &obscured);
        command
    };
    let source_arg = source.to_string_lossy().into_owned();
    let back_arg = back.to_string_lossy().into_owned();

    let up = run(&mut rclone(&["sync", &source_arg, "ferry:tree"]), None).await;
    assert!(up.status.success(), "sync up: {}", text(&up));
    let check = run(&mut rclone(&["check", &source_arg, "ferry:tree"]), None).await;
    assert!(check.status.success(), "check: {}", text(&check));
    assert!(
        text(&check).contains("0 differences found"),
        "{}",
        text(&check)
    );
    // Content, not just sizes: rclone reads every file back and compares.
    let check = run(
        &mut rclone(&["check", "--download", &source_arg, "ferry:tree"]),
        None,
    )
    .await;
    assert!(check.status.success(), "check --download: {}", text(&check));

    let down = run(&mut rclone(&["sync", "ferry:tree", &back_arg]), None).await;
    assert!(down.status.success(), "sync down: {}", text(&down));
    let expected = digest_tree(&source);
    assert_eq!(expected.len(), 200);
    assert_eq!(digest_tree(&back), expected, "the tree came back identical");

    // The same files through the REST API, each a version 1.
    let api = server.api(&server.admin_token().await);
    let (_, files) = api.get("/api/sync/files?prefix=/tree").await;
    let files = files["files"].as_array().expect("files");
    assert_eq!(files.len(), 200);
    let big = files
        .iter()
        .find(|f| f["path"] == "/tree/big.bin")
        .expect("big file listed");
    assert_eq!(big["size"], 200 << 20);
    assert_eq!(big["sha256"], expected[Path::new("big.bin")]);
}

#[tokio::test]
async fn cadaver_session_smoke_test() {
    let server = TestServer::start().await;
    let home = TempDir::new().expect("home");
    let host = server
        .url("")
        .trim_start_matches("http://")
        .split(':')
        .next()
        .expect("host")
        .to_owned();
    let netrc = home.path().join(".netrc");
    std::fs::write(
        &netrc,
        format!("machine {host}\nlogin {ADMIN}\npassword {ADMIN_PASSWORD}\n"),
    )
    .expect("netrc");
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    std::fs::write(home.path().join("local.txt"), "hello from cadaver\n").expect("local");
    let script = "mkcol smoke\ncd smoke\nput local.txt hello.txt\nls\nget hello.txt back.txt\n\
                  copy hello.txt copy.txt\nmove hello.txt renamed.txt\npropset renamed.txt color red\n\
                  propget renamed.txt color\nls\ndelete copy.txt\nquit\n";
    let output = run(
        Command::new("cadaver")
            .current_dir(home.path())
            .env("HOME", home.path())
            .arg(server.url("/webdav/")),
        Some(script),
    )
    .await;
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    assert!(!report.contains("failed"), "{report}");
    assert!(report.contains("Value of color is: red"), "{report}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("back.txt")).expect("downloaded"),
        "hello from cadaver\n"
    );
    let api = server.api(&server.admin_token().await);
    let (_, files) = api.get("/api/sync/files?prefix=/smoke").await;
    let paths: Vec<&str> = files["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(paths, vec!["/smoke/renamed.txt"]);
}
