//! SPEC §1–3: login, tokens, devices, the admin CLI, health, errors.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::process::Stdio;

use ferry_tests::{
    ADMIN, ADMIN_PASSWORD, PASSWORD, ProcessServer, TestServer, code, parts, random_bytes,
};
use reqwest::StatusCode;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");

#[tokio::test]
async fn login_issues_device_bound_tokens() {
    let server = TestServer::start().await;
    let token = server.user_token("alice").await;
    let response = server
        .client
        .post(server.url("/api/auth/login"))
        .json(&json!({ "username": "alice", "password": PASSWORD, "device_id": "phone", "device_name": "Alice's phone" }))
        .send()
        .await
        .unwrap();
    let (status, login) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login["user"]["username"], "alice");
    assert_eq!(login["user"]["role"], "user");
    assert!(login["user"]["id"].as_str().is_some());
    assert!(login["expires_at"].as_str().is_some());
    let phone = login["token"].as_str().unwrap();
    assert!(phone.len() >= 64, "≥ 256 bits");
    assert_ne!(phone, token);

    let (status, me) = server.api(phone).get("/api/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["device_id"], "phone");

    // A device-bound token acts only for its own device.
    let (status, body) = server
        .api(phone)
        .start_upload("/x.txt", 1, None, None)
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));

    // Tokens are stored hashed: the database file never holds one.
    let db = std::fs::read(server.data_dir().join("ferry.db")).unwrap();
    let wal = std::fs::read(server.data_dir().join("ferry.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(phone.len()).any(|w| w == phone.as_bytes()),
            "a plain token is stored"
        );
    }
}

#[tokio::test]
async fn bad_credentials_are_401_in_the_spec_format() {
    let server = TestServer::start().await;
    server.user_token("alice").await;
    for body in [
        json!({ "username": "alice", "password": "wrong-password" }),
        json!({ "username": "nobody", "password": PASSWORD }),
    ] {
        let (status, answer) = parts(
            server
                .client
                .post(server.url("/api/auth/login"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{body}"
        );
    }
    let (status, answer) = parts(
        server
            .client
            .get(server.url("/api/me"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, _) = server.api("not-a-token").get("/api/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = server.api("x").get("/api/nowhere").await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn login_tokens_expire() {
    let server = TestServer::start().await;
    let token = server.user_token("alice").await;
    server.clock.advance(chrono::Duration::days(29));
    assert_eq!(server.api(&token).get("/api/me").await.0, StatusCode::OK);
    server.clock.advance(chrono::Duration::days(2));
    assert_eq!(
        server.api(&token).get("/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_admins_manage_users() {
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let (status, body) = alice
        .post(
            "/api/users",
            json!({ "username": "mallory", "password": "long-enough" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    assert_eq!(alice.get("/api/users").await.0, StatusCode::FORBIDDEN);

    let admin = server.api(&server.admin_token().await);
    let (status, body) = admin
        .post(
            "/api/users",
            json!({ "username": "alice", "password": "long-enough" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "username_taken")
    );
    let (status, body) = admin
        .post(
            "/api/users",
            json!({ "username": "bad name", "password": "long-enough" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_username")
    );
    let (status, body) = admin
        .post(
            "/api/users",
            json!({ "username": "short", "password": "short" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_password")
    );
    let (status, users) = admin.get("/api/users").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice"]);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            server
                .client
                .get(server.url(path))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK,
            "{path}"
        );
    }
    let api = server.api(&server.user_token("alice").await);
    api.upload_file("/m.bin", &random_bytes(3000, 2), 1024)
        .await;
    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("ferry_uploads_started_total 1"), "{text}");
    assert!(text.contains("ferry_uploads_completed_total 1"), "{text}");
    assert!(
        text.contains("ferry_upload_bytes_received_total 3000"),
        "{text}"
    );
}

/// `ferry ARGS` over `data_dir`, which must succeed: its stdout.
async fn ferry(data_dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
    let data_dir = data_dir.to_str().expect("UTF-8 path");
    let (ok, stdout, stderr) = ferry_in(
        std::path::Path::new("/"),
        &[("FERRY_DATA_DIR", data_dir)],
        args,
        stdin.unwrap_or(""),
    )
    .await;
    assert!(ok, "ferry {args:?}: {stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_cli_creates_users_and_tokens() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    assert!(
        ferry(&data, &["migrate"], None)
            .await
            .contains("migrations applied")
    );
    ferry(
        &data,
        &["user", "create", "carol", "--admin", "--password-stdin"],
        Some("carol-password\n"),
    )
    .await;
    ferry(
        &data,
        &["user", "create", "dave", "--password-stdin"],
        Some("dave-password\n"),
    )
    .await;
    let listing = ferry(&data, &["user", "list"], None).await;
    assert!(
        listing.contains("carol\tadmin") && listing.contains("dave\tuser"),
        "{listing}"
    );
    let token = ferry(
        &data,
        &[
            "token", "create", "dave", "--device", "nas", "--name", "backup",
        ],
        None,
    )
    .await;
    let token = token.trim();
    assert!(token.len() >= 64);

    // The bootstrap admin is not created when users exist already.
    let server = ProcessServer::spawn(BIN, &data, &[]).await;
    let client = reqwest::Client::new();
    let me: serde_json::Value = client
        .get(format!("{}/api/me", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "dave");
    assert_eq!(me["device_id"], "nas");
    let login = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    let login = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({ "username": "carol", "password": "carol-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
}

/// `ferry ARGS` in `cwd` with only `env` set: (success, stdout, stderr).
async fn ferry_in(
    cwd: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("ferry exits")
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_refuses_what_cannot_work_before_starting() {
    let dir = TempDir::new().unwrap();
    // Run from a folder with no data directory: nothing is made.
    let (ok, _, err) = ferry_in(
        dir.path(),
        &[],
        &["user", "create", "erin", "--password-stdin"],
        "erin-password\n",
    )
    .await;
    assert!(
        !ok && err.contains("no data directory at ./ferry-data"),
        "{err}"
    );
    assert!(!dir.path().join("ferry-data").exists(), "nothing created");
    let (ok, _, err) = ferry_in(dir.path(), &[], &["token", "list", "erin"], "").await;
    assert!(!ok && err.contains("no data directory"), "{err}");
    // Settings that cannot work stop `serve` with one line naming the flag.
    let (ok, _, err) = ferry_in(dir.path(), &[], &["--chunk-size", "0", "serve"], "").await;
    assert!(
        !ok && err.contains("--chunk-size (SYNC_CHUNK_SIZE) must be at least 1"),
        "{err}"
    );
    let (ok, _, err) = ferry_in(dir.path(), &[("FERRY_ADMIN_USER", "root")], &["serve"], "").await;
    assert!(!ok && err.contains("FERRY_ADMIN_PASSWORD"), "{err}");
    assert!(
        !dir.path().join("ferry-data").exists(),
        "still nothing created"
    );
    // A subcommand's help shows its own options before the server settings.
    let (ok, help, _) = ferry_in(dir.path(), &[], &["user", "create", "--help"], "").await;
    assert!(ok, "{help}");
    let own = help.find("--password-stdin").expect("own option");
    let server = help
        .find("Server settings")
        .expect("server settings heading");
    assert!(own < server, "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_accounts_and_tokens() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    let env = [("FERRY_DATA_DIR", data_s.as_str())];
    let run = |args: &'static [&'static str], stdin: &'static str| {
        let cwd = dir.path().to_owned();
        async move { ferry_in(&cwd, &env, args, stdin).await }
    };
    assert!(run(&["migrate"], "").await.0);
    let (ok, _, err) = run(
        &["user", "create", "root", "--admin", "--password-stdin"],
        "root-password\n",
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &["user", "create", "frank", "--password-stdin"],
        "frank-password\n",
    )
    .await;
    assert!(ok, "{err}");
    let (ok, token, err) = run(&["token", "create", "frank", "--device", "nas"], "").await;
    assert!(ok, "{err}");
    let token = token.trim().to_owned();

    // Tokens are listed with their device and revoked by id.
    let (ok, listing, err) = run(&["token", "list", "frank"], "").await;
    assert!(ok, "{err}");
    let line = listing.lines().nth(1).expect("one token");
    assert!(line.contains("\tnas\t"), "{listing}");
    let id = line.split('\t').next().unwrap().to_owned();

    // A server sees the CLI's changes (within the documented 10 s cache).
    let server = ProcessServer::spawn(BIN, &data, &[]).await;
    let client = reqwest::Client::new();
    let me = |token: String| {
        let client = client.clone();
        let base = server.base.clone();
        async move {
            client
                .get(format!("{base}/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    let revoke = ["token", "revoke", id.as_str()];
    let (ok, _, err) = ferry_in(dir.path(), &env, &revoke, "").await;
    assert!(ok, "{err}");
    let (_, listing, _) = run(&["token", "list", "frank"], "").await;
    assert!(
        !listing.lines().nth(1).unwrap().ends_with("\t-"),
        "revoked: {listing}"
    );

    // Disable, enable, a new password, delete.
    let (ok, _, err) = run(&["user", "disable", "frank"], "").await;
    assert!(ok, "{err}");
    let (_, users, _) = run(&["user", "list"], "").await;
    assert!(users.contains("frank\tuser disabled"), "{users}");
    let (ok, _, err) = run(&["user", "enable", "frank"], "").await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &["user", "password", "frank", "--password-stdin"],
        "brand-new-password\n",
    )
    .await;
    assert!(ok, "{err}");
    let login = |password: &'static str| {
        let client = client.clone();
        let base = server.base.clone();
        async move {
            client
                .post(format!("{base}/api/auth/login"))
                .json(&json!({ "username": "frank", "password": password }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(login("frank-password").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login("brand-new-password").await, StatusCode::OK);
    // The last admin stays; deleting asks for --yes.
    let (ok, _, err) = run(&["user", "delete", "root", "--yes"], "").await;
    assert!(!ok && err.contains("last enabled admin"), "{err}");
    let (ok, _, _) = run(&["user", "delete", "frank"], "").await;
    assert!(!ok, "--yes is required");
    let (ok, _, err) = run(&["user", "delete", "frank", "--yes"], "").await;
    assert!(ok, "{err}");
    let (_, users, _) = run(&["user", "list"], "").await;
    assert!(!users.contains("frank"), "{users}");
    drop(server);
}
