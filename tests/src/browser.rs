//! Debian's headless Chromium through chromedriver (WebDriver, `fantoccini`),
//! for the tests that use a real browser (the dashboard, Uppy over tus).
use std::{process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// chromedriver on a free port, killed with this value.
#[derive(Debug)]
pub struct Driver {
    child: tokio::process::Child,
    port: u16,
}

impl Driver {
    /// `None` (a skip) when Chromium is not installed here; in CI that is an error.
    pub async fn start() -> Option<Self> {
        let installed = ["/usr/bin/chromedriver", "/usr/bin/chromium"]
            .iter()
            .all(|p| std::path::Path::new(p).exists());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install chromium and chromium-driver"
            );
            eprintln!("chromium/chromedriver missing: skipping the browser test");
            return None;
        }
        let port = crate::bench::free_port().expect("port");
        let child = tokio::process::Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self { child, port });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not start");
    }

    pub async fn browser(&self) -> Client {
        self.browser_with(&[]).await
    }

    /// A Chromium session with extra command-line switches.
    pub async fn browser_with(&self, extra: &[&str]) -> Client {
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ];
        if !extra.iter().any(|a| a.starts_with("--window-size=")) {
            args.push("--window-size=1280,1000");
        }
        args.extend_from_slice(extra);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
