//! The server's public HTTP API, as the client uses it: login, the changes
//! feed, chunked uploads, downloads, folders and the device's settings.
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Times a chunk turned away by the request-rate limit is sent again.
const RATE_LIMITED_RETRIES: u32 = 20;

/// The pause before sending again a request the rate limit turned away for
/// the `refused`-th time (counted here): 200 ms, growing to 1.6 s.
async fn back_off(refused: &mut u32) {
    *refused += 1;
    tokio::time::sleep(Duration::from_millis(100 << (*refused).min(4))).await;
}

/// A connection to one server, as one device.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
}

/// One entry of the changes feed.
#[derive(Clone, Debug, Deserialize)]
pub struct Change {
    pub path: String,
    pub kind: String,
    pub version: i64,
    pub size: u64,
    pub sha256: Option<String>,
    pub modified_at: String,
    /// A file stored in several blocks: its blocks in order.
    #[serde(default)]
    pub blocks: Option<Vec<BlockRef>>,
}

/// One block of a file on the server (or announced in a delta upload).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct BlockRef {
    pub sha256: String,
    pub size: u64,
}

/// A page of the changes feed.
#[derive(Debug, Deserialize)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub cursor: String,
    pub has_more: bool,
}

/// What `upload/start` answers.
#[derive(Debug, Deserialize)]
pub struct Started {
    pub upload_id: String,
    pub chunk_size: u64,
    pub total_chunks: u64,
    /// Delta uploads: the chunks still to send (inclusive ranges).
    #[serde(default)]
    pub missing_chunks: Option<Vec<[u64; 2]>>,
    /// Delta uploads: `completed` when nothing was missing.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub file: Option<Committed>,
    #[serde(default)]
    pub conflict: Option<Conflict>,
}

/// A committed file, as a completed upload answers it.
#[derive(Clone, Debug, Deserialize)]
pub struct Committed {
    pub path: String,
    pub version: i64,
    pub sha256: String,
}

/// Where an upload stands.
#[derive(Debug, Deserialize)]
pub struct Progress {
    pub status: String,
    pub missing_chunks: Vec<[u64; 2]>,
    pub total_chunks: u64,
    pub file: Option<Committed>,
}

/// How the server resolved a conflicting upload.
#[derive(Clone, Debug, Deserialize)]
pub struct Conflict {
    /// `kept_local` or `kept_server`.
    pub resolution: String,
    /// The version the server held at commit (0: none).
    pub server_version: i64,
}

/// What a chunk answers.
#[derive(Debug, Deserialize)]
pub struct ChunkAnswer {
    pub status: String,
    pub file: Option<Committed>,
    pub conflict: Option<Conflict>,
}

/// A schedule of this device (the fields the client acts on).
#[derive(Clone, Debug, Deserialize)]
pub struct Schedule {
    pub schedule_type: String,
    pub enabled: bool,
    pub sync_deletions: bool,
}

/// The body of `upload/start`.
#[derive(Debug, Serialize)]
pub struct StartUpload<'a> {
    pub device_id: &'a str,
    pub file_path: &'a str,
    pub file_name: &'a str,
    pub total_size: u64,
    pub file_hash: &'a str,
    pub modified_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_version: Option<i64>,
    /// A delta upload: the file's blocks in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<BlockRef>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl Api {
    /// A client of `server` (e.g. `https://ferry.example:8000`), trusting the
    /// PEM certificates in `ca_cert` besides the system's.
    pub fn new(server: &str, ca_cert: Option<&Path>, token: Option<String>) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("ferry-sync/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::Setup(format!("{}: not a PEM certificate: {e}", path.display()))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| Error::Setup(format!("cannot set up HTTP: {e}")))?;
        let server = server.trim_end_matches('/').to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(Error::Setup(format!(
                "--server must be an http:// or https:// URL, not {server:?}"
            )));
        }
        Ok(Self {
            http,
            server,
            token,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.server));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Send `request`; an error answer becomes [`Error::Server`].
    async fn send(&self, what: &str, request: RequestBuilder) -> Result<Response> {
        let network = |source| Error::Network {
            what: what.to_owned(),
            source,
        };
        let response = request.send().await.map_err(network)?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.bytes().await.map_err(network)?;
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => (
                "unknown".to_owned(),
                String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            ),
        };
        Err(Error::Server {
            what: what.to_owned(),
            status: status.as_u16(),
            code,
            message,
        })
    }

    async fn json<T: DeserializeOwned>(&self, what: &str, request: RequestBuilder) -> Result<T> {
        // A request the rate limit turns away (429) goes again after a short,
        // growing pause, when its body can be sent twice.
        let mut refused = 0u32;
        let mut request = request;
        let response = loop {
            let again = request.try_clone();
            match (self.send(what, request).await, again) {
                (Err(Error::Server { status: 429, .. }), Some(again))
                    if refused < RATE_LIMITED_RETRIES =>
                {
                    back_off(&mut refused).await;
                    request = again;
                }
                (answer, _) => break answer,
            }
        };
        response?.json().await.map_err(|source| Error::Network {
            what: what.to_owned(),
            source,
        })
    }

    /// Log in as `username` from `device_id`; the device-bound token.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_id: &str,
        device_name: Option<&str>,
    ) -> Result<String> {
        #[derive(Deserialize)]
        struct Answer {
            token: String,
        }
        let body = serde_json::json!({
            "username": username, "password": password,
            "device_id": device_id, "device_name": device_name,
        });
        let request = self.request(Method::POST, "/api/auth/login").json(&body);
        let answer: Answer = self.json("logging in", request).await?;
        Ok(answer.token)
    }

    /// A page of the changes feed after `cursor`, waiting up to `wait` for one.
    pub async fn changes(
        &self,
        device_id: &str,
        cursor: Option<&str>,
        wait: Duration,
    ) -> Result<ChangePage> {
        let mut query = vec![
            ("device_id", device_id.to_owned()),
            ("limit", "1000".to_owned()),
            ("wait", wait.as_secs().to_string()),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let request = self
            .request(Method::GET, "/api/sync/changes")
            .query(&query)
            .timeout(wait + Duration::from_secs(60));
        self.json("reading the changes feed", request).await
    }

    /// The device's selective-sync configuration, as the server lists it.
    pub async fn selective(&self, device_id: &str) -> Result<serde_json::Value> {
        let path = format!("/api/sync/selective/list/{}", encode_segment(device_id));
        let request = self.request(Method::GET, &path);
        self.json("reading selective sync", request).await
    }

    /// Whether each of `paths` syncs to the device (the server's rule).
    pub async fn synced(&self, device_id: &str, paths: &[String]) -> Result<Vec<bool>> {
        #[derive(Deserialize)]
        struct Decision {
            synced: bool,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            selective_sync_check: Vec<Decision>,
        }
        let mut out = Vec::with_capacity(paths.len());
        for batch in paths.chunks(500) {
            let data: Data = self
                .graphql(
                    "checking selective sync",
                    "query($d: String!, $p: [String!]!) { selectiveSyncCheck(deviceId: $d, paths: $p) { synced } }",
                    serde_json::json!({ "d": device_id, "p": batch }),
                )
                .await?;
            out.extend(data.selective_sync_check.into_iter().map(|d| d.synced));
        }
        Ok(out)
    }

    /// The device's schedules.
    pub async fn schedules(&self, device_id: &str) -> Result<Vec<Schedule>> {
        #[derive(Deserialize)]
        struct Answer {
            schedules: Vec<Schedule>,
        }
        let request = self
            .request(Method::GET, "/api/sync/schedule/list")
            .query(&[("device_id", device_id)]);
        let answer: Answer = self.json("reading schedules", request).await?;
        Ok(answer.schedules)
    }

    /// Run a GraphQL operation; its `data` as `T`.
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T> {
        #[derive(Deserialize)]
        struct Answer<T> {
            data: Option<T>,
            #[serde(default)]
            errors: Vec<serde_json::Value>,
        }
        let request = self
            .request(Method::POST, "/graphql")
            .json(&serde_json::json!({ "query": query, "variables": variables }));
        let answer: Answer<T> = self.json(what, request).await?;
        match (answer.data, answer.errors.first()) {
            (Some(data), None) => Ok(data),
            (_, first) => {
                let code = first
                    .and_then(|e| e.pointer("/extensions/code"))
                    .and_then(|c| c.as_str())
                    .unwrap_or("unknown")
                    .to_owned();
                let message = first
                    .and_then(|e| e.get("message"))
                    .and_then(|m| m.as_str())
                    .unwrap_or("no data")
                    .to_owned();
                Err(Error::Server {
                    what: what.to_owned(),
                    status: 200,
                    code,
                    message,
                })
            }
        }
    }

    /// Start a chunked upload.
    pub async fn start_upload(&self, body: &StartUpload<'_>) -> Result<Started> {
        let request = self
            .request(Method::POST, "/api/sync/upload/start")
            .json(body);
        self.json(
            &format!("starting the upload of {}", body.file_path),
            request,
        )
        .await
    }

    /// Where upload `id` stands.
    pub async fn progress(&self, id: &str) -> Result<Progress> {
        let request = self.request(Method::GET, &format!("/api/sync/upload/{id}/progress"));
        self.json("reading upload progress", request).await
    }

    /// Send chunk `number` of upload `id`. A chunk the server's request-rate limit
    /// turns away (429) is sent again after a short, growing pause.
    pub async fn send_chunk(&self, id: &str, number: u64, bytes: Vec<u8>) -> Result<ChunkAnswer> {
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(&bytes));
        let mut refused = 0u32;
        loop {
            let form = reqwest::multipart::Form::new()
                .text("chunk_hash", hash.clone())
                .part(
                    "chunk_file",
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name("chunk"),
                );
            let request = self
                .request(
                    Method::POST,
                    &format!("/api/sync/upload/{id}/chunk/{number}"),
                )
                .multipart(form);
            match self.json("sending a chunk", request).await {
                Err(Error::Server { status: 429, .. }) if refused < RATE_LIMITED_RETRIES => {
                    back_off(&mut refused).await;
                }
                answer => return answer,
            }
        }
    }

    /// Download version `version` of `path` from byte `offset` on.
    pub async fn download(&self, path: &str, version: i64, offset: u64) -> Result<Response> {
        let mut request = self
            .request(Method::GET, "/api/sync/files/content")
            .query(&[("path", path), ("version", &version.to_string())]);
        if offset > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let response = self.send(&format!("downloading {path}"), request).await?;
        if offset > 0 && response.status() != StatusCode::PARTIAL_CONTENT {
            return Err(Error::Setup(format!(
                "downloading {path}: the server ignored the range"
            )));
        }
        Ok(response)
    }

    /// Bytes `start..=end` of version `version` of `path`.
    pub async fn download_range(
        &self,
        path: &str,
        version: i64,
        start: u64,
        end: u64,
    ) -> Result<Response> {
        let request = self
            .request(Method::GET, "/api/sync/files/content")
            .query(&[("path", path), ("version", &version.to_string())])
            .header(reqwest::header::RANGE, format!("bytes={start}-{end}"));
        let response = self.send(&format!("downloading {path}"), request).await?;
        if response.status() != StatusCode::PARTIAL_CONTENT {
            return Err(Error::Setup(format!(
                "downloading {path}: the server ignored the range"
            )));
        }
        Ok(response)
    }

    /// Delete the file at `path` (already gone is fine).
    pub async fn delete_file(&self, path: &str) -> Result<()> {
        let request = self
            .request(Method::DELETE, "/api/sync/files/content")
            .query(&[("path", path)]);
        ignore_missing(self.send(&format!("deleting {path}"), request).await)
    }

    /// Make the folder `path` (already there is fine).
    pub async fn make_folder(&self, path: &str) -> Result<()> {
        let request = self
            .request(Method::POST, "/api/sync/folders")
            .json(&serde_json::json!({ "path": path }));
        match self.send(&format!("making folder {path}"), request).await {
            Err(e) if e.code() == Some("already_exists") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Delete the folder `path` with what is below it (already gone is fine).
    pub async fn delete_folder(&self, path: &str) -> Result<()> {
        let request = self
            .request(Method::DELETE, "/api/sync/folders")
            .query(&[("path", path)]);
        ignore_missing(self.send(&format!("deleting folder {path}"), request).await)
    }
}

fn ignore_missing(result: Result<Response>) -> Result<()> {
    match result {
        Err(e) if e.code() == Some("not_found") => Ok(()),
        other => other.map(drop),
    }
}

/// `s` as one URL path segment.
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
