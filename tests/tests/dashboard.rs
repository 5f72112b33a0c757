//! The admin dashboard in a real browser: Debian's headless Chromium driven through
//! chromedriver (WebDriver, `fantoccini`) against the real server on port 0. Each page
//! is used the way an admin would, and the same run writes the screenshots in
//! `docs/screenshots/` that the README shows.
use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use ferry_tests::{PASSWORD, TestServer, random_bytes, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// chromedriver on a free port, killed with this value.
struct Driver {
    child: tokio::process::Child,
    port: u16,
}

impl Driver {
    /// `None` (a skip) when Chromium is not installed here; in CI that is an error.
    async fn start() -> Option<Self> {
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
        let port = ferry_tests::bench::free_port().expect("port");
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

    async fn browser(&self) -> Client {
        self.browser_with(&[]).await
    }

    /// A Chromium session with extra command-line switches.
    async fn browser_with(&self, extra: &[&str]) -> Client {
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ];
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

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(screenshot_dir()).expect("screenshot dir");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write png");
}

async fn find(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// The text of `css`, once the page holds it (a click's navigation may still be on its way).
async fn text(browser: &Client, css: &str) -> String {
    for _ in 0..100 {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never appeared");
}

/// Wait until the text of `css` contains `needle`; return it.
async fn text_with(browser: &Client, css: &str, needle: &str) -> String {
    for _ in 0..100 {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && text.contains(needle)
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{css} never contained {needle:?}: {:?}",
        browser.find(Locator::Css(css)).await.ok()
    );
}

async fn fill(browser: &Client, css: &str, value: &str) {
    let field = find(browser, css).await;
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(browser: &Client, css: &str) {
    find(browser, css).await.click().await.expect("click");
}

async fn path_of(browser: &Client) -> String {
    let url = browser.current_url().await.expect("url");
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Poll `script` (a JS expression) until it is truthy (bounded).
async fn until(browser: &Client, script: &str) -> Value {
    for _ in 0..100 {
        let value = browser
            .execute(&format!("return ({script});"), vec![])
            .await
            .expect("script");
        if value.as_bool() != Some(false) && !value.is_null() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never true: {script}");
}

async fn sign_in(browser: &Client, base: &str, username: &str, password: &str) {
    browser.goto(&format!("{base}/login")).await.expect("goto");
    fill(browser, "#username", username).await;
    fill(browser, "#password", password).await;
    click(browser, "#sign-in").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_every_page_in_a_real_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let alice = server.user_token("alice").await;
    let alice_api = server.api(&alice);
    let admin = server.api(&server.admin_token().await);
    // Enough audit entries for more than one page.
    for n in 0..22 {
        let (status, _) = admin
            .post(
                "/api/users",
                json!({ "username": format!("user{n:02}"), "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let browser = driver.browser().await;

    // Login: a protected page sends the browser to /login first.
    browser.goto(&server.url("/")).await.expect("goto");
    assert_eq!(path_of(&browser).await, "/login");
    screenshot(&browser, "login").await;
    sign_in(&browser, &server.base, "admin", "wrong password").await;
    text_with(&browser, ".notice.bad", "Wrong username or password").await;
    sign_in(&browser, &server.base, "admin", ferry_tests::ADMIN_PASSWORD).await;
    find(&browser, "#uploads").await;
    assert_eq!(path_of(&browser).await, "/");
    // The cookie is HttpOnly: the page's scripts cannot read it.
    let visible = browser
        .execute("return document.cookie;", vec![])
        .await
        .expect("cookie");
    assert!(!visible.as_str().unwrap_or("").contains("ferry_session"));
    let cookie = browser
        .get_named_cookie("ferry_session")
        .await
        .expect("session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");

    // Live upload progress: the bar advances as chunks are posted, without a reload.
    let chunk = 64 * 1024;
    let data = random_bytes(8 * chunk, 5);
    let (status, started) = alice_api
        .start_upload(
            "/Videos/live.bin",
            data.len() as u64,
            Some(chunk as u64),
            Some(&sha256_hex(&data)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["upload_id"].as_str().expect("id").to_owned();
    browser.goto(&server.url("/")).await.expect("goto");
    let row = format!("#uploads tr[data-upload-id='{id}']");
    find(&browser, &row).await;
    browser
        .execute("window.__sameDocument = true;", vec![])
        .await
        .expect("marker");
    until(
        &browser,
        "document.documentElement.dataset.live === 'connected'",
    )
    .await;
    let progress = format!("document.querySelector(\"{row} progress\").value");
    let mut last = 0.0;
    for (n, piece) in data.chunks(chunk).enumerate() {
        let (status, body) = alice_api.put_chunk(&id, n as i64, piece).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let now = until(&browser, &format!("{progress} > {last} && {progress}"))
            .await
            .as_f64()
            .expect("progress value");
        assert!(now > last, "{now} after {last}");
        last = now;
        if n == 3 {
            screenshot(&browser, "overview").await;
        }
    }
    assert_eq!(last, 100.0);
    until(
        &browser,
        &format!("document.querySelector(\"{row} .status\").textContent === 'completed'"),
    )
    .await;
    let same = browser
        .execute("return window.__sameDocument === true;", vec![])
        .await
        .expect("marker");
    assert_eq!(same, Value::Bool(true), "the page reloaded");

    // Users and devices.
    browser.goto(&server.url("/users")).await.expect("goto");
    text_with(&browser, "section[data-user='alice']", "laptop").await;
    screenshot(&browser, "users").await;

    // Schedules: preview the next runs, create, see them, disable.
    browser.goto(&server.url("/schedules")).await.expect("goto");
    let device = find(&browser, "#device").await;
    let alice_id = alice_api.get("/api/me").await.1["id"]
        .as_str()
        .expect("alice id")
        .to_owned();
    device
        .select_by_value(&format!("{alice_id}:laptop"))
        .await
        .expect("device");
    find(&browser, "#schedule_type")
        .await
        .select_by_value("daily")
        .await
        .expect("type");
    fill(&browser, "#time_of_day", "02:00").await;
    fill(&browser, "#timezone", "Europe/Berlin").await;
    click(&browser, "#preview-button").await;
    let preview = text_with(&browser, "#preview", ":00:00 UTC").await;
    assert_eq!(preview.lines().count(), 5, "{preview}");
    // The preview kept the fields; a bad time shows its error next to the field.
    fill(&browser, "#time_of_day", "25:99").await;
    click(&browser, "#create-button").await;
    assert!(!text(&browser, "#time_of_day-error").await.is_empty());
    fill(&browser, "#time_of_day", "02:00").await;
    find(&browser, "#device")
        .await
        .select_by_value(&format!("{alice_id}:laptop"))
        .await
        .expect("device");
    fill(&browser, "#timezone", "Europe/Berlin").await;
    click(&browser, "#create-button").await;
    text_with(&browser, "#created", "Schedule created").await;
    assert_eq!(
        find(&browser, "#created")
            .await
            .find_all(Locator::Css("li"))
            .await
            .expect("li")
            .len(),
        5
    );
    assert!(path_of(&browser).await.starts_with("/schedules?created="));
    screenshot(&browser, "schedules").await;
    // Run now: the history shows the manual run.
    click(&browser, "#schedules button[data-action='run']").await;
    text_with(&browser, "#history", "manual").await;
    assert!(path_of(&browser).await.starts_with("/schedules?history="));
    // The overview's run feed hears the next run live, without a reload.
    browser.goto(&server.url("/")).await.expect("goto");
    let feed = "document.querySelectorAll('#run-feed li').length";
    let before = until(&browser, feed).await.as_u64().expect("count");
    browser
        .execute("window.__sameDocument = true;", vec![])
        .await
        .expect("marker");
    until(
        &browser,
        "document.documentElement.dataset.live === 'connected'",
    )
    .await;
    let schedule_id = admin.graphql("{ schedules { id } }", json!({})).await["data"]["schedules"]
        [0]["id"]
        .as_str()
        .expect("schedule id")
        .to_owned();
    let ran = admin
        .graphql(
            "mutation($id: ID!) { runScheduleNow(id: $id) { id } }",
            json!({ "id": schedule_id }),
        )
        .await;
    let run_id = ran["data"]["runScheduleNow"]["id"]
        .as_str()
        .expect("run")
        .to_owned();
    until(&browser, &format!("{feed} > {before}")).await;
    until(
        &browser,
        &format!("document.querySelector(\"#run-feed li[data-run-id='{run_id}']\") !== null"),
    )
    .await;
    assert_eq!(
        browser
            .execute("return window.__sameDocument === true;", vec![])
            .await
            .expect("marker"),
        Value::Bool(true)
    );
    browser.goto(&server.url("/schedules")).await.expect("goto");
    click(&browser, "#schedules button[data-action='disable']").await;
    text_with(&browser, "#schedules .state", "disabled").await;
    let answer = admin
        .graphql("{ schedules { deviceId enabled } }", json!({}))
        .await;
    assert_eq!(answer["data"]["schedules"][0]["enabled"], false, "{answer}");

    // Selective sync: edit the folders, then check paths against the server's rule.
    browser
        .goto(&server.url(&format!("/selective?device={alice_id}:laptop")))
        .await
        .expect("goto");
    fill(&browser, "#new_paths", "/Documents\n/Photos/2024").await;
    click(&browser, "#save-folders").await;
    find(&browser, "#saved").await;
    fill(
        &browser,
        "#check",
        "/Documents/taxes/2024.pdf\n/Music/song.mp3",
    )
    .await;
    click(&browser, "#check-paths").await;
    find(&browser, "#check-results").await;
    let synced = |path: &str| format!("#check-results li[data-path='{path}']");
    assert_eq!(
        find(&browser, &synced("/Documents/taxes/2024.pdf"))
            .await
            .attr("data-synced")
            .await
            .expect("attr"),
        Some("true".into())
    );
    assert_eq!(
        find(&browser, &synced("/Music/song.mp3"))
            .await
            .attr("data-synced")
            .await
            .expect("attr"),
        Some("false".into())
    );
    screenshot(&browser, "selective").await;
    let (_, folders) = alice_api.get("/api/sync/selective/list/laptop").await;
    assert_eq!(
        folders["folders"].as_array().map(Vec::len),
        Some(2),
        "{folders}"
    );

    // The editor round-trips what the device has, exclusions included: real
    // folders /Photos and /Photos/Raw, /Photos synced with /Photos/Raw excluded;
    // Save without a change keeps the exclusion.
    for folder in ["/Photos", "/Photos/Raw"] {
        let (status, body) = alice_api
            .post("/api/sync/folders", json!({ "path": folder }))
            .await;
        assert!(status.is_success(), "{status} {body}");
    }
    let configured = json!({ "device_id": "laptop", "folders": [
        { "path": "/Photos", "enabled": true, "include_subfolders": true },
        { "path": "/Photos/Raw", "enabled": false, "include_subfolders": true },
        { "path": "/Later", "enabled": false, "include_subfolders": false },
    ]});
    let (status, body) = alice_api
        .post("/api/sync/selective/configure", configured)
        .await;
    assert!(status.is_success(), "{status} {body}");
    browser
        .goto(&server.url(&format!("/selective?device={alice_id}:laptop")))
        .await
        .expect("goto");
    let row = |path: &str| format!("#folder-tree li[data-path='{path}']");
    assert_eq!(
        find(&browser, &row("/Photos/Raw"))
            .await
            .attr("data-mode")
            .await
            .expect("attr"),
        Some("excl".into())
    );
    text_with(&browser, &row("/Photos/Raw"), "left out").await;
    text_with(&browser, &row("/Photos"), "gets its files").await;
    text_with(&browser, &row("/Later"), "not on the server yet").await;
    screenshot(&browser, "selective-tree").await;
    click(&browser, "#save-folders").await;
    find(&browser, "#saved").await;
    let (_, after) = alice_api.get("/api/sync/selective/list/laptop").await;
    let mut after: Vec<(String, bool, bool)> = after["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_owned(),
                f["enabled"].as_bool().unwrap_or_default(),
                f["include_subfolders"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    after.sort();
    assert_eq!(
        after,
        [
            ("/Later".to_owned(), false, false),
            ("/Photos".to_owned(), true, true),
            ("/Photos/Raw".to_owned(), false, true),
        ],
        "an unchanged save keeps every setting"
    );
    // A bad typed path keeps the page and shows its message next to the field.
    fill(&browser, "#new_paths", "/../outside").await;
    click(&browser, "#save-folders").await;
    find(&browser, "#new_paths-error").await;

    // Bandwidth: a bad hour is refused next to its field; a good limit is saved.
    browser
        .goto(&server.url(&format!("/bandwidth?user={alice_id}")))
        .await
        .expect("goto");
    fill(&browser, "#upload_speed_limit", "512").await;
    let enabled = find(&browser, "#throttle_enabled").await;
    if enabled.prop("checked").await.expect("checked").as_deref() != Some("true") {
        enabled.click().await.expect("check");
    }
    fill(&browser, "#throttle_start_hour", "25").await;
    fill(&browser, "#throttle_end_hour", "6").await;
    fill(&browser, "#timezone", "Europe/Berlin").await;
    click(&browser, "#save-limit").await;
    text_with(&browser, "#throttle_start_hour-error", "0–23").await;
    browser
        .goto(&server.url(&format!("/bandwidth?user={alice_id}")))
        .await
        .expect("goto");
    fill(&browser, "#upload_speed_limit", "512").await;
    let enabled = find(&browser, "#throttle_enabled").await;
    if enabled.prop("checked").await.expect("checked").as_deref() != Some("true") {
        enabled.click().await.expect("check");
    }
    fill(&browser, "#throttle_start_hour", "22").await;
    fill(&browser, "#throttle_end_hour", "6").await;
    fill(&browser, "#timezone", "Europe/Berlin").await;
    click(&browser, "#save-limit").await;
    find(&browser, "#saved").await;
    text_with(
        &browser,
        "#limits tr[data-user='alice'] .upload",
        "512 KiB/s",
    )
    .await;
    screenshot(&browser, "bandwidth").await;
    let (_, limit) = alice_api.get("/api/sync/bandwidth/limit").await;
    assert_eq!(limit["upload_speed_limit"], 512 * 1024, "{limit}");
    assert_eq!(limit["throttle_start_hour"], 22, "{limit}");

    // Audit log: 20 a page, newest first; the next page holds older entries.
    browser.goto(&server.url("/audit")).await.expect("goto");
    let first: Vec<String> = entry_ids(&browser).await;
    assert_eq!(first.len(), 20);
    screenshot(&browser, "audit").await;
    click(&browser, "#next-page").await;
    find(&browser, "#first-page").await;
    let second = entry_ids(&browser).await;
    assert!(!second.is_empty());
    let oldest_first: i64 = first.last().expect("row").parse().expect("id");
    let newest_second: i64 = second[0].parse().expect("id");
    assert!(newest_second < oldest_first, "{first:?} then {second:?}");

    // Sign out: the session is gone, pages send the browser to /login again.
    browser.goto(&server.url("/")).await.expect("goto");
    click(&browser, ".who button").await;
    find(&browser, "#sign-in").await;
    browser.goto(&server.url("/audit")).await.expect("goto");
    assert_eq!(path_of(&browser).await, "/login");
    browser.close().await.expect("close");
}

async fn entry_ids(browser: &Client) -> Vec<String> {
    let rows = find(browser, "#audit tbody")
        .await
        .find_all(Locator::Css("tr"))
        .await
        .expect("rows");
    let mut ids = Vec::new();
    for row in rows {
        ids.push(row.attr("data-entry-id").await.expect("attr").expect("id"));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_is_refused() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    server.user_token("bob").await;
    let browser = driver.browser().await;
    sign_in(&browser, &server.base, "bob", PASSWORD).await;
    text_with(&browser, ".notice.bad", "administrators").await;
    assert_eq!(path_of(&browser).await.split('?').next(), Some("/login"));
    assert!(browser.get_named_cookie("ferry_session").await.is_err());
    browser.goto(&server.url("/users")).await.expect("goto");
    assert_eq!(path_of(&browser).await, "/login");
    // Bob's token from that attempt was revoked at once: only his test login remains.
    let admin = server.api(&server.admin_token().await);
    let answer = admin.graphql("{ users { id username } }", json!({})).await;
    let bob = answer["data"]["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "bob")
        .expect("bob")["id"]
        .clone();
    let tokens = admin
        .graphql(
            "query($u: ID) { tokens(userId: $u) { revokedAt } }",
            json!({ "u": bob }),
        )
        .await;
    let revoked = tokens["data"]["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter(|t| !t["revokedAt"].is_null())
        .count();
    assert_eq!(revoked, 1, "{tokens}");
    browser.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_off_pages_show_their_state_and_forms_still_work() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let (status, started) = alice
        .start_upload("/big.iso", 4 * 65_536, Some(65_536), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["upload_id"].as_str().expect("id").to_owned();
    let (status, _) = alice.put_chunk(&id, 0, &random_bytes(65_536, 1)).await;
    assert_eq!(status, StatusCode::OK);

    let browser = driver
        .browser_with(&["--blink-settings=scriptEnabled=false"])
        .await;
    sign_in(&browser, &server.base, "admin", ferry_tests::ADMIN_PASSWORD).await;
    // The overview as of its load: one chunk of four.
    let row = format!("#uploads tr[data-upload-id='{id}']");
    assert_eq!(text(&browser, &format!("{row} .chunks")).await, "1 / 4");
    // The live module never ran (it marks the document when it connects).
    let live = browser
        .execute(
            "return document.documentElement.dataset.live || 'off';",
            vec![],
        )
        .await
        .expect("probe");
    assert_eq!(live, "off");
    // A schedule created by a plain form post.
    browser.goto(&server.url("/schedules")).await.expect("goto");
    fill(&browser, "#time_of_day", "03:30").await;
    click(&browser, "#preview-button").await;
    assert_eq!(
        text_with(&browser, "#preview", "UTC").await.lines().count(),
        5
    );
    click(&browser, "#create-button").await;
    text_with(&browser, "#created", "Schedule created").await;
    browser.close().await.expect("close");
}
