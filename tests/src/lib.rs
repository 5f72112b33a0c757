//! Harness for Ferry's black-box tests: the real server on port 0 (in-process via
//! `api::launch`, or as a real process that can be killed), a unique data
//! directory per test, SQLite or a fresh PostgreSQL database per test.
#![forbid(unsafe_code)]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

pub mod bench;
pub mod browser;
pub mod cluster;
pub mod flood;
pub mod socket;
pub mod sync_client;

use api::{config::Settings, service::Clock};
use reqwest::{Client, StatusCode, multipart};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password";
pub const PASSWORD: &str = "user-password";

/// A `sqlite` and a `postgres` test (each on two worker threads) for the
/// scenario `async fn NAME(backend: Backend)`, in a module named after it.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::Backend::Postgres).await;
            }
        }
    };
}

/// Which database a test server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `len` pseudo-random bytes from `seed` (fast, reproducible).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut out = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// A fresh PostgreSQL database, dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    /// `None` when `FERRY_TEST_DATABASE_URL` is unset; in CI that is an error, not a skip.
    pub async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("FERRY_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set FERRY_TEST_DATABASE_URL"
            );
            eprintln!("FERRY_TEST_DATABASE_URL is unset: skipping the PostgreSQL variant");
            return None;
        };
        let (url, name) = api::service::db::create_scratch_database(&admin_url, "ferry_test")
            .await
            .expect("create test database");
        Some(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        api::service::db::drop_scratch_database(self.admin_url.clone(), self.name.clone());
    }
}

/// A Ferry server running in this process on a port-0 listener.
#[derive(Debug)]
pub struct TestServer {
    pub base: String,
    pub client: Client,
    pub clock: Clock,
    pub settings: Settings,
    data: Option<TempDir>,
    database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// On SQLite with default settings.
    pub async fn start() -> Self {
        Self::start_with(Backend::Sqlite, |_| {})
            .await
            .expect("sqlite always runs")
    }

    /// On `backend` with settings adjusted by `tweak`; `None` when PostgreSQL is not configured.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Option<Self> {
        let data = TempDir::new().expect("temp dir");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await?),
        };
        let mut settings = Settings::with_data_dir(data.path());
        settings.database_url = database.as_ref().map(|db| db.url.clone());
        settings.admin_user = Some(ADMIN.into());
        settings.admin_password = Some(ADMIN_PASSWORD.into());
        tweak(&mut settings);
        let client = match &settings.tls_cert {
            Some(cert) => tls_client(&std::fs::read(cert).expect("read test certificate")),
            None => Client::new(),
        };
        let mut server = Self {
            base: String::new(),
            client,
            clock: Clock::system(),
            settings,
            data: Some(data),
            database,
            shutdown: None,
            task: None,
        };
        server.boot().await;
        Some(server)
    }

    async fn boot(&mut self) {
        // Port 0 the first time; the same port again on a restart, so clients keep working.
        let scheme = if self.settings.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let address = self
            .base
            .split_once("://")
            .map_or("127.0.0.1:0", |(_, address)| address)
            .to_owned();
        let listener = tokio::net::TcpListener::bind(if address.is_empty() {
            "127.0.0.1:0"
        } else {
            &address
        })
        .await
        .expect("bind");
        self.base = format!("{scheme}://{}", listener.local_addr().expect("local addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let settings = self.settings.clone();
        let clock = self.clock.clone();
        self.task = Some(tokio::spawn(async move {
            api::launch_with_clock(settings, clock, listener, async {
                let _ = rx.await;
            })
            .await
        }));
        self.shutdown = Some(tx);
        wait_healthy(&self.client, &self.base).await;
    }

    /// Stop the server gracefully (data kept), stay away for `away`, and start
    /// it again on the same port.
    pub async fn restart_after(&mut self, away: Duration) {
        self.stop().await;
        tokio::time::sleep(away).await;
        self.boot().await;
    }

    /// A counter of `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Stop the server gracefully (data kept) and start it again with `tweak`ed settings.
    pub async fn restart_with(&mut self, tweak: impl FnOnce(&mut Settings)) {
        self.stop().await;
        tweak(&mut self.settings);
        self.boot().await;
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.settings.data_dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Log in and return the token.
    pub async fn login(&self, username: &str, password: &str, device_id: Option<&str>) -> String {
        let mut body = json!({ "username": username, "password": password });
        if let Some(device) = device_id {
            body["device_id"] = json!(device);
        }
        let response = self
            .client
            .post(self.url("/api/auth/login"))
            .json(&body)
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let body: Value = response.json().await.expect("login body");
        body["token"].as_str().expect("token").to_owned()
    }

    /// The bootstrap admin's token (no device).
    pub async fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD, None).await
    }

    /// Run the block collector now, as the admin; its report.
    pub async fn collect_garbage(&self) -> Value {
        self.api(&self.admin_token().await).collect_garbage().await
    }

    /// Create a user through the API and log in as them on device `laptop`.
    pub async fn user_token(&self, username: &str) -> String {
        let admin = self.admin_token().await;
        let response = self
            .client
            .post(self.url("/api/users"))
            .bearer_auth(&admin)
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .expect("create user");
        assert_eq!(response.status(), StatusCode::CREATED);
        self.login(username, PASSWORD, Some("laptop")).await
    }

    pub fn api(&self, token: &str) -> Api {
        Api {
            client: self.client.clone(),
            base: self.base.clone(),
            token: token.to_owned(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // The database goes after the server that used it.
        self.database.take();
        self.data.take();
    }
}

/// An HTTPS client (HTTP/2 offered by ALPN) that trusts only the certificate `cert_pem`.
pub fn tls_client(cert_pem: &[u8]) -> Client {
    Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem).expect("PEM certificate"))
        .build()
        .expect("TLS client")
}

/// Poll `/healthz` until it answers (bounded).
pub async fn wait_healthy(client: &Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} did not become healthy");
}

/// Poll a plain HTTP port until it accepts connections (bounded).
pub async fn wait_healthy_port(client: &Client, port: u16) {
    for _ in 0..300 {
        if client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on port {port}");
}

/// A logged-in REST client.
#[derive(Clone, Debug)]
pub struct Api {
    pub client: Client,
    pub base: String,
    pub token: String,
}

/// Status and JSON body of a response.
pub async fn parts(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Api {
    /// Run the block collector now (an admin's client); its report.
    pub async fn collect_garbage(&self) -> Value {
        let answer = self
            .graphql(
                "mutation { collectGarbage { versionsPruned blocksDeleted bytesReclaimed blocksKept bytesUsed finishedAt } }",
                json!({}),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
        answer["data"]["collectGarbage"].clone()
    }

    /// A GraphQL operation over HTTP; the whole answer (`data` and `errors`).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let (status, answer) = self
            .post(
                "/graphql",
                json!({ "query": query, "variables": variables }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        parts(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await
                .expect("post"),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        parts(
            self.client
                .get(self.url(path))
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        parts(
            self.client
                .delete(self.url(path))
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("delete"),
        )
        .await
    }

    /// Start an upload of `total_size` bytes to `path` from device `laptop`.
    pub async fn start_upload(
        &self,
        path: &str,
        total_size: u64,
        chunk_size: Option<u64>,
        file_hash: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut body = json!({
            "device_id": "laptop",
            "file_path": path,
            "file_name": path.rsplit('/').next().unwrap_or(path),
            "total_size": total_size,
        });
        if let Some(size) = chunk_size {
            body["chunk_size"] = json!(size);
        }
        if let Some(hash) = file_hash {
            body["file_hash"] = json!(hash);
        }
        self.post("/api/sync/upload/start", body).await
    }

    /// Post one chunk with an explicit hash.
    pub async fn put_chunk_with_hash(
        &self,
        upload_id: &str,
        number: i64,
        data: Vec<u8>,
        hash: &str,
    ) -> (StatusCode, Value) {
        let form = multipart::Form::new()
            .text("chunk_hash", hash.to_owned())
            .part(
                "chunk_file",
                multipart::Part::bytes(data).file_name("chunk"),
            );
        let url = self.url(&format!("/api/sync/upload/{upload_id}/chunk/{number}"));
        parts(
            self.client
                .post(url)
                .bearer_auth(&self.token)
                .multipart(form)
                .send()
                .await
                .expect("chunk"),
        )
        .await
    }

    /// Post one chunk with its true hash.
    pub async fn put_chunk(
        &self,
        upload_id: &str,
        number: i64,
        data: &[u8],
    ) -> (StatusCode, Value) {
        self.put_chunk_with_hash(upload_id, number, data.to_vec(), &sha256_hex(data))
            .await
    }

    /// Upload `data` to `path` in `chunk_size` chunks, in order; returns the final chunk answer.
    pub async fn upload_file(&self, path: &str, data: &[u8], chunk_size: u64) -> Value {
        let (status, started) = self
            .start_upload(
                path,
                data.len() as u64,
                Some(chunk_size),
                Some(&sha256_hex(data)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let id = started["upload_id"].as_str().expect("upload_id").to_owned();
        let mut last = Value::Null;
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(chunk_size as usize).collect()
        };
        for (n, chunk) in chunks.into_iter().enumerate() {
            let (status, body) = self.put_chunk(&id, n as i64, chunk).await;
            assert_eq!(status, StatusCode::OK, "chunk {n}: {body}");
            last = body;
        }
        last
    }

    /// Download a file's bytes (asserting 200).
    pub async fn download(&self, path: &str) -> Vec<u8> {
        let response = self
            .client
            .get(self.url("/api/sync/files/content"))
            .query(&[("path", path)])
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("download");
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.expect("body").to_vec()
    }
}

/// The error code of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// Every file below `dir`, recursively.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_below(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A Ferry server as a real OS process (so it can be killed with SIGKILL).
#[derive(Debug)]
pub struct ProcessServer {
    pub child: tokio::process::Child,
    pub base: String,
    pub log: PathBuf,
}

impl ProcessServer {
    /// Spawn `ferry serve` (the binary at `bin`: pass
    /// `env!("CARGO_BIN_EXE_ferry-under-test")`) on port 0 over `data_dir` with extra environment.
    pub async fn spawn(bin: &str, data_dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn_with_client(bin, data_dir, env, &Client::new()).await
    }

    /// [`Self::spawn`] over a fresh temporary data directory (deleted with the
    /// returned [`TempDir`], which must outlive the server).
    pub async fn spawn_fresh(bin: &str, env: &[(&str, &str)]) -> (TempDir, Self) {
        let dir = TempDir::new().expect("temp dir");
        let server = Self::spawn(bin, &dir.path().join("data"), env).await;
        (dir, server)
    }

    /// [`Self::spawn`], waiting for health with `client` (an HTTPS client when the
    /// environment sets `FERRY_TLS_CERT`).
    pub async fn spawn_with_client(
        bin: &str,
        data_dir: &Path,
        env: &[(&str, &str)],
        client: &Client,
    ) -> Self {
        let log = data_dir.with_extension(format!("{}.log", uuid::Uuid::new_v4().simple()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = tokio::process::Command::new(bin);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,sqlx=warn")
            .env("FERRY_BIND", "127.0.0.1:0")
            .env("FERRY_DATA_DIR", data_dir)
            .env("FERRY_ADMIN_USER", ADMIN)
            .env("FERRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn ferry");
        let base = Self::wait_for_address(&log, "ferry is listening").await;
        let base = if env.iter().any(|(key, _)| *key == "FERRY_TLS_CERT") {
            base.replacen("http://", "https://", 1)
        } else {
            base
        };
        wait_healthy(client, &base).await;
        Self { child, base, log }
    }

    /// `http://ADDRESS` from the first log line containing `message` and `address=`.
    pub async fn wait_for_address(log: &Path, message: &str) -> String {
        for _ in 0..600 {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains(message))
                && let Some(at) = line.find("address=")
            {
                let address: String = line[at + 8..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                return format!("http://{address}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "ferry did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// Wait until the log contains `needle` (bounded).
    pub async fn wait_for_log(&self, needle: &str) {
        for _ in 0..600 {
            if std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .contains(needle)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("log never showed {needle:?}");
    }

    /// SIGKILL: no shutdown, no cleanup.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("kill -9");
    }

    /// The process's peak resident memory (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM");
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("VmHWM value");
        kib * 1024
    }

    /// CPU time the process has used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let pid = self.child.id().expect("running");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 =
            fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
        ticks / 100.0
    }

    /// A client logged in as the bootstrap admin on device `laptop`.
    pub async fn admin_api(&self) -> Api {
        self.admin_api_with(Client::new()).await
    }

    /// Run the block collector now, as the admin; its report.
    pub async fn collect_garbage(&self) -> Value {
        self.admin_api().await.collect_garbage().await
    }

    /// [`Self::admin_api`] over `client` (an HTTPS client for a TLS server).
    pub async fn admin_api_with(&self, client: Client) -> Api {
        let body = json!({ "username": ADMIN, "password": ADMIN_PASSWORD, "device_id": "laptop" });
        let (status, login) = parts(
            client
                .post(format!("{}/api/auth/login", self.base))
                .json(&body)
                .send()
                .await
                .expect("login"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{login}");
        Api {
            client,
            base: self.base.clone(),
            token: login["token"].as_str().expect("token").to_owned(),
        }
    }
}
