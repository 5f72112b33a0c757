//! HTTPS: the rustls server configuration read from PEM files (HTTP/2 and HTTP/1.1
//! offered by ALPN), its reload on SIGHUP, the plain-HTTP redirect listener and
//! `ferry cert self-signed`.
use crate::service::Code;
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, anyhow};
use axum::{
    Router,
    http::{HeaderMap, Uri, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::service::error::Error;

/// The certificate chain and private key files HTTPS is served with.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Read both files and build the server configuration; every failure names its file
    /// in one line (no backtrace), so a typo in a path or a wrong key is obvious.
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let certs = read_certificates(&self.cert)?;
        let key = read_key(&self.key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("while choosing TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|err| {
                anyhow!(
                    "the TLS key {} does not fit the certificate {}: {err}",
                    self.key.display(),
                    self.cert.display()
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The configuration axum-server serves, reloadable in place.
    pub fn rustls_config(&self) -> anyhow::Result<RustlsConfig> {
        Ok(RustlsConfig::from_config(self.server_config()?))
    }

    /// Re-read the files into `config` on every SIGHUP. New handshakes use the new
    /// certificate; established connections keep theirs. A bad file is logged and the
    /// certificate in use stays.
    pub fn reload_on_sighup(self, config: RustlsConfig) -> anyhow::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups =
            signal(SignalKind::hangup()).context("while listening for SIGHUP (TLS reload)")?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match self.server_config() {
                    Ok(fresh) => {
                        config.reload_from_config(fresh);
                        tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                    }
                    Err(err) => {
                        tracing::error!(
                            "TLS reload failed, keeping the certificate in use: {err:#}"
                        )
                    }
                }
            }
        });
        Ok(())
    }
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the TLS {what} {}", path.display()))
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read_file(path, "certificate")?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            anyhow!(
                "the TLS certificate {} is not valid PEM: {err}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(anyhow!(
            "the TLS certificate {} holds no CERTIFICATE block",
            path.display()
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let pem = read_file(path, "key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|err| {
        anyhow!(
            "the TLS key {} holds no usable private key: {err}",
            path.display()
        )
    })
}

/// The app answering plain HTTP on `--http-redirect-bind`: every request gets a
/// permanent redirect (308, so a POST stays a POST) to the same host and path over
/// HTTPS on `https_port`.
pub fn redirect_app(https_port: u16) -> Router {
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        redirect_to_https(&headers, &uri, https_port)
    })
}

fn redirect_to_https(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
    else {
        return Error::new(
            Code::MissingHost,
            "a Host header is required to redirect to HTTPS",
        )
        .into_response();
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Redirect::permanent(&format!("https://{}{port}{path}", host.host())).into_response()
}

/// A self-signed certificate for `hosts` (names or IP addresses): `(cert PEM, key PEM)`.
pub fn self_signed(hosts: &[String]) -> anyhow::Result<(String, String)> {
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())
        .context("while generating a self-signed certificate")?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// `ferry cert self-signed`: write `cert.pem` and `key.pem` (owner-only) into `out`.
pub fn write_self_signed(hosts: &[String], out: &Path) -> anyhow::Result<TlsFiles> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let (cert, key) = self_signed(hosts)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let files = TlsFiles {
        cert: out.join("cert.pem"),
        key: out.join("key.pem"),
    };
    std::fs::write(&files.cert, cert)
        .with_context(|| format!("cannot write {}", files.cert.display()))?;
    let mut key_file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&files.key)
        .with_context(|| format!("cannot write {}", files.key.display()))?;
    key_file
        .write_all(key.as_bytes())
        .with_context(|| format!("cannot write {}", files.key.display()))?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(host: Option<&str>, uri: &str, port: u16) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, host.parse().expect("host"));
        }
        redirect_to_https(&headers, &uri.parse().expect("uri"), port)
    }

    fn location(response: &Response) -> &str {
        response.headers()[header::LOCATION]
            .to_str()
            .expect("location")
    }

    #[test]
    fn redirect_keeps_host_path_and_query_and_swaps_the_port() {
        let response = redirect(Some("files.example:8080"), "/webdav/a%20b?x=1", 8443);
        assert_eq!(response.status(), 308);
        assert_eq!(
            location(&response),
            "https://files.example:8443/webdav/a%20b?x=1"
        );
        let response = redirect(Some("files.example"), "/", 443);
        assert_eq!(location(&response), "https://files.example/");
        let response = redirect(Some("[::1]:80"), "/x", 443);
        assert_eq!(location(&response), "https://[::1]/x");
    }

    #[test]
    fn redirect_without_host_is_a_bad_request() {
        assert_eq!(redirect(None, "/", 443).status(), 400);
        assert_eq!(redirect(Some("bad host/"), "/", 443).status(), 400);
    }

    #[test]
    fn key_that_is_not_a_key_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = write_self_signed(&["localhost".into()], dir.path()).expect("cert");
        std::fs::write(&files.key, "not a key").expect("write");
        let err = format!("{:#}", files.server_config().expect_err("bad key"));
        assert!(err.contains(&files.key.display().to_string()), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let missing = TlsFiles {
            cert: dir.path().join("missing.pem"),
            key: files.key.clone(),
        };
        let err = format!("{:#}", missing.server_config().expect_err("missing"));
        assert!(err.contains("missing.pem"), "{err}");
    }

    #[test]
    fn self_signed_certificate_loads_with_both_alpn_protocols() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files =
            write_self_signed(&["localhost".into(), "127.0.0.1".into()], dir.path()).expect("cert");
        let config = files.server_config().expect("config");
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files.key)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
