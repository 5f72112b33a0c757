//! The admin dashboard in a real browser: Debian's headless Chromium driven through
//! chromedriver (WebDriver, `fantoccini`) against the real server on port 0. Each page
//! is used the way an admin would, and the same run writes the screenshots in
//! `docs/screenshots/` that the README shows.
use std::{path::PathBuf, time::Duration};

use fantoccini::{Client, Locator, elements::Element};
use ferry_tests::{PASSWORD, TestServer, browser::Driver, random_bytes, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
    // Next runs in the schedule's zone, UTC beside them.
    let preview = text_with(&browser, "#preview", "02:00 Europe/Berlin").await;
    assert_eq!(preview.lines().count(), 5, "{preview}");
    assert!(preview.contains(":00 UTC)"), "{preview}");
    // The preview kept the fields; a bad time shows its error next to the field,
    // and every other field keeps what was typed.
    fill(&browser, "#time_of_day", "25:99").await;
    click(&browser, "#create-button").await;
    assert!(!text(&browser, "#time_of_day-error").await.is_empty());
    for (css, expected) in [
        ("#time_of_day", "25:99".to_owned()),
        ("#timezone", "Europe/Berlin".to_owned()),
        ("#device", format!("{alice_id}:laptop")),
        ("#schedule_type", "daily".to_owned()),
    ] {
        assert_eq!(
            find(&browser, css)
                .await
                .prop("value")
                .await
                .expect("value"),
            Some(expected),
            "{css}"
        );
    }
    fill(&browser, "#time_of_day", "02:00").await;
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
    assert_eq!(
        find(&browser, "#new_paths")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("/../outside")
    );

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
    // Everything else typed is still there: fix the one field and save.
    for (css, expected) in [
        ("#upload_speed_limit", "512"),
        ("#throttle_end_hour", "6"),
        ("#timezone", "Europe/Berlin"),
    ] {
        assert_eq!(
            find(&browser, css)
                .await
                .prop("value")
                .await
                .expect("value")
                .as_deref(),
            Some(expected),
            "{css}"
        );
    }
    assert_eq!(
        find(&browser, "#throttle_enabled")
            .await
            .prop("checked")
            .await
            .expect("checked")
            .as_deref(),
        Some("true")
    );
    fill(&browser, "#throttle_start_hour", "22").await;
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

/// The window sizes every user-facing test runs at: a laptop and a phone.
const SIZES: [(&str, &str); 2] = [
    ("desktop", "--window-size=1280,800"),
    ("phone", "--window-size=390,844"),
];

/// Whether the page is wider than the window (something sits off-screen).
async fn overflows(browser: &Client) -> bool {
    let value = browser
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("probe");
    value.as_bool().expect("bool")
}

/// `fetch` a same-origin URL in the page (with the session cookie): status and text.
async fn fetch_in_page(browser: &Client, url: &str) -> (u16, String) {
    let script = format!("const r = await fetch({url:?}); return [r.status, await r.text()];");
    let value = browser.execute(&script, vec![]).await.expect("fetch");
    (
        value[0].as_u64().expect("status") as u16,
        value[1].as_str().expect("text").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_manages_their_own_files_and_devices_in_a_real_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let bob = server.api(&server.user_token("bob").await);
    alice
        .upload_file("/Docs/notes.txt", b"first version", 65_536)
        .await;
    alice
        .upload_file("/Docs/notes.txt", b"second version", 65_536)
        .await;
    bob.upload_file("/Docs/bob-secret.txt", b"bob only", 65_536)
        .await;

    for (size, flag) in SIZES {
        let browser = driver.browser_with(&[flag]).await;
        sign_in(&browser, &server.base, "alice", PASSWORD).await;
        // A user lands on their files; the tab says where they are; no admin page is offered.
        text_with(&browser, "h1", "My files").await;
        assert_eq!(browser.title().await.expect("title"), "My files · Ferry");
        let nav = browser
            .execute(
                "return [...document.querySelectorAll('nav[aria-label=Main] a')].map(a => a.getAttribute('href'));",
                vec![],
            )
            .await
            .expect("nav");
        assert_eq!(nav, json!(["/files", "/devices", "/settings"]), "{size}");
        // Admin pages answer 403 with a way back; the overview sends a user to their files.
        browser.goto(&server.url("/users")).await.expect("goto");
        text_with(&browser, "#message", "administrators").await;
        browser.goto(&server.url("/")).await.expect("goto");
        assert_eq!(path_of(&browser).await, "/files");

        // Browse into /Docs: alice's file, never bob's.
        click(&browser, "tr[data-folder='/Docs'] a").await;
        let listing = text_with(&browser, "#listing", "notes.txt").await;
        assert!(!listing.contains("bob-secret"), "{listing}");
        assert!(
            !overflows(&browser).await,
            "{size}: the listing runs off-screen"
        );
        if size == "phone" {
            // The navigation is one Menu button until opened.
            assert!(
                find(&browser, "details.menu nav a")
                    .await
                    .is_displayed()
                    .await
                    .map(|shown| !shown)
                    .expect("shown")
            );
            click(&browser, "details.menu summary").await;
            assert!(
                find(&browser, "details.menu nav a")
                    .await
                    .is_displayed()
                    .await
                    .expect("shown")
            );
        }
        screenshot(&browser, &format!("user-files-{size}")).await;
        // Another user's file is not there for alice, by page or by download.
        browser
            .goto(&server.url("/files?file=%2FDocs%2Fbob-secret.txt"))
            .await
            .expect("goto");
        text_with(&browser, ".notice.bad", "not found").await;
        let (status, _) = fetch_in_page(
            &browser,
            "/api/sync/files/content?path=/Docs/bob-secret.txt",
        )
        .await;
        assert_eq!(status, 404);
        browser
            .goto(&server.url("/files?folder=%2FDocs"))
            .await
            .expect("goto");
        if size == "desktop" {
            // History: two versions; restoring version 1 makes version 3 with the old bytes.
            click(&browser, "tr[data-file='/Docs/notes.txt'] a.history").await;
            assert_eq!(browser.title().await.expect("title"), "My files · Ferry");
            text_with(&browser, "#versions", "current").await;
            click(&browser, "tr[data-version='1'] button.restore").await;
            text_with(&browser, "#restored", "now version 3").await;
            let (status, body) =
                fetch_in_page(&browser, "/api/sync/files/content?path=/Docs/notes.txt").await;
            assert_eq!((status, body.as_str()), (200, "first version"));
            let (_, old) = fetch_in_page(
                &browser,
                "/api/sync/files/content?path=/Docs/notes.txt&version=2",
            )
            .await;
            assert_eq!(old, "second version");
            assert_eq!(alice.download("/Docs/notes.txt").await, b"first version");
            screenshot(&browser, "user-history-desktop").await;

            // Delete: gone from the listing, listed as deleted, restorable from its history.
            browser
                .goto(&server.url("/files?folder=%2FDocs"))
                .await
                .expect("goto");
            click(&browser, "tr[data-file='/Docs/notes.txt'] button.delete").await;
            text_with(&browser, "#deleted", "/Docs/notes.txt deleted").await;
            assert!(!text(&browser, "#listing").await.contains("notes.txt"));
            text_with(&browser, "#deleted-files", "notes.txt").await;
            click(&browser, "#deleted a").await;
            text_with(&browser, "#is-deleted", "deleted").await;
            click(&browser, "tr[data-version='2'] button.restore").await;
            text_with(&browser, "#restored", "now version 4").await;
            assert_eq!(alice.download("/Docs/notes.txt").await, b"second version");
        }

        // Settings: the limit that applies, what each device syncs.
        browser.goto(&server.url("/settings")).await.expect("goto");
        text_with(&browser, "#my-limit", "unlimited").await;
        text_with(&browser, "main", "laptop").await;
        assert!(
            !overflows(&browser).await,
            "{size}: settings run off-screen"
        );
        browser.close().await.expect("close");
    }

    // Devices: rename, then revoke a token, then remove the device (its tokens go too).
    let phone_token = server.login("alice", PASSWORD, Some("phone")).await;
    let browser = driver.browser_with(&["--window-size=390,844"]).await;
    sign_in(&browser, &server.base, "alice", PASSWORD).await;
    text_with(&browser, "h1", "My files").await;
    browser.goto(&server.url("/devices")).await.expect("goto");
    assert!(
        !overflows(&browser).await,
        "devices run off-screen at phone width"
    );
    let name = find(&browser, "tr[data-device='phone'] input[name=name]").await;
    name.clear().await.expect("clear");
    name.send_keys("Alice's phone").await.expect("type");
    click(&browser, "tr[data-device='phone'] button.rename").await;
    text_with(&browser, "#done", "Renamed phone").await;
    text_with(&browser, "#tokens", "phone").await;
    screenshot(&browser, "user-devices-phone").await;
    let (status, _) = server.api(&phone_token).get("/api/me").await;
    assert_eq!(status, StatusCode::OK);
    click(&browser, "tr[data-device='phone'] button.remove").await;
    text_with(&browser, "#done", "Removed phone").await;
    let (status, _) = server.api(&phone_token).get("/api/me").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the removed device's token still works"
    );
    // Revoke the laptop's token from the list (bob's tokens are not there to revoke).
    let tokens = text(&browser, "#tokens").await;
    assert!(tokens.contains("laptop"), "{tokens}");
    browser
        .execute(
            "[...document.querySelectorAll('#tokens tbody tr')].find(r => r.querySelector('td.mono').textContent === 'laptop').querySelector('button.revoke').click();",
            vec![],
        )
        .await
        .expect("revoke the laptop's token");
    text_with(&browser, "#done", "Token revoked").await;
    let (status, _) = alice.get("/api/me").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the laptop's token still works"
    );
    let (status, _) = bob.get("/api/me").await;
    assert_eq!(status, StatusCode::OK, "bob's session is untouched");
    browser.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_accounts_and_a_disabled_users_page_stops_within_seconds() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    // No host but Ferry's resolves for this browser: GraphiQL must come whole from Ferry.
    let admin = driver
        .browser_with(&[
            "--window-size=1280,800",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ])
        .await;
    sign_in(&admin, &server.base, "admin", ferry_tests::ADMIN_PASSWORD).await;
    text_with(&admin, "h1", "Overview").await;
    assert_eq!(admin.title().await.expect("title"), "Overview · Ferry");

    // GraphiQL from the dashboard runs a query as the signed-in admin.
    click(&admin, "#graphiql-link").await;
    find(&admin, ".graphiql-container").await;
    click(&admin, ".graphiql-execute-button").await;
    until(
        &admin,
        "document.querySelector('.result-window') && document.querySelector('.result-window').innerText.includes('ADMIN')",
    )
    .await;
    let foreign = admin
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin));",
            vec![],
        )
        .await
        .expect("resources");
    assert_eq!(foreign, json!([]), "GraphiQL fetched from elsewhere");
    screenshot(&admin, "graphiql").await;
    admin.goto(&server.url("/")).await.expect("goto");
    admin.goto(&server.url("/users")).await.expect("goto");
    // A bad password is refused beside its field; a good one creates carol.
    fill(&admin, "#new-username", "carol").await;
    admin
        .execute(
            "document.querySelector('#new-password').removeAttribute('minlength');",
            vec![],
        )
        .await
        .expect("script");
    fill(&admin, "#new-password", "short").await;
    click(&admin, "#create-user").await;
    text_with(&admin, "#password-error", "8").await;
    // The typed username is kept (the password never comes back).
    assert_eq!(
        find(&admin, "#new-username")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("carol")
    );
    fill(&admin, "#new-password", PASSWORD).await;
    click(&admin, "#create-user").await;
    text_with(&admin, "#done", "Created carol").await;

    // Carol signs in; her page holds the live connection.
    let carol = driver.browser_with(&["--window-size=390,844"]).await;
    sign_in(&carol, &server.base, "carol", PASSWORD).await;
    text_with(&carol, "h1", "My files").await;
    until(
        &carol,
        "document.documentElement.dataset.live === 'connected'",
    )
    .await;

    // Disabling her ends the open page within seconds: it goes to the sign-in page.
    click(&admin, "section[data-user='carol'] button.disable").await;
    text_with(&admin, "#done", "Disabled carol").await;
    let started = std::time::Instant::now();
    for _ in 0..100 {
        if path_of(&carol).await == "/login" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(path_of(&carol).await, "/login", "carol's page kept running");
    assert!(started.elapsed() < Duration::from_secs(10));
    carol.goto(&server.url("/files")).await.expect("goto");
    assert_eq!(path_of(&carol).await, "/login");

    // Enable, make admin and back, set a password (her old one stops working), delete.
    click(&admin, "section[data-user='carol'] button.enable").await;
    text_with(&admin, "#done", "Enabled carol").await;
    click(&admin, "section[data-user='carol'] button.role").await;
    text_with(&admin, "#done", "carol is an admin now").await;
    text_with(&admin, "section[data-user='carol'] h2", "admin").await;
    click(&admin, "section[data-user='carol'] button.role").await;
    text_with(&admin, "#done", "carol is a user now").await;
    let carol_token = server.login("carol", PASSWORD, Some("tablet")).await;
    fill(
        &admin,
        "section[data-user='carol'] input[name=password]",
        "a-brand-new-password",
    )
    .await;
    click(&admin, "section[data-user='carol'] button.reset").await;
    text_with(&admin, "#done", "New password set for carol").await;
    let (status, _) = server.api(&carol_token).get("/api/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server
        .login("carol", "a-brand-new-password", Some("tablet"))
        .await;
    // Her tokens, listed for the admin, and her device, removable.
    admin.goto(&server.url("/users")).await.expect("goto");
    click(&admin, "section[data-user='carol'] a.tokens").await;
    text_with(&admin, "#user-tokens", "tablet").await;
    screenshot(&admin, "admin-users-desktop").await;
    click(
        &admin,
        "section[data-user='carol'] tr[data-device='tablet'] button.remove-device",
    )
    .await;
    text_with(&admin, "#done", "Removed device tablet").await;
    // Deleting needs the box ticked.
    click(&admin, "section[data-user='carol'] button.delete").await;
    text_with(&admin, "#confirm-error", "Tick the box").await;
    click(&admin, "section[data-user='carol'] input[name=confirm]").await;
    click(&admin, "section[data-user='carol'] button.delete").await;
    text_with(&admin, "#done", "Deleted carol").await;
    assert!(
        admin
            .find(Locator::Css("section[data-user='carol']"))
            .await
            .is_err()
    );
    // The admin cannot disable themself; the page says so.
    click(&admin, "section[data-user='admin'] button.disable").await;
    text_with(&admin, ".notice.bad", "own").await;
    admin.close().await.expect("close");
    carol.close().await.expect("close");
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

/// The `value` property of the form control `css`.
async fn value_of(browser: &Client, css: &str) -> String {
    find(browser, css)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edits_schedules_steers_uploads_and_reads_the_audit_log_at_both_sizes() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let admin = server.api(&server.admin_token().await);
    let alice_id = alice.get("/api/me").await.1["id"]
        .as_str()
        .expect("alice id")
        .to_owned();
    let chunk = 64 * 1024;
    let data = random_bytes(4 * chunk, 9);
    let start = |path: String| {
        let (alice, data) = (&alice, &data);
        async move {
            let (status, started) = alice
                .start_upload(
                    &path,
                    data.len() as u64,
                    Some(chunk as u64),
                    Some(&sha256_hex(data)),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{started}");
            started["upload_id"].as_str().expect("id").to_owned()
        }
    };
    let status_of = |id: String| {
        let alice = &alice;
        async move {
            let (_, progress) = alice.get(&format!("/api/sync/upload/{id}/progress")).await;
            // A cancelled upload answers 410 `upload_cancelled`.
            progress["status"]
                .as_str()
                .or_else(|| progress["error"]["code"].as_str())
                .unwrap_or_default()
                .to_owned()
        }
    };

    for (size, flag) in SIZES {
        let browser = driver.browser_with(&[flag]).await;
        sign_in(&browser, &server.base, "admin", ferry_tests::ADMIN_PASSWORD).await;
        find(&browser, "#uploads").await;

        // Overview: each upload names its owner and device; pause, resume, cancel work
        // without JavaScript's help (plain posts), and the page follows the API live.
        let steer = start(format!("/{size}/steer.bin")).await;
        let finish = start(format!("/{size}/finish.bin")).await;
        browser.goto(&server.url("/")).await.expect("goto");
        let row = |id: &str| format!("#uploads tr[data-upload-id='{id}']");
        assert_eq!(
            text(&browser, &format!("{} .owner", row(&steer))).await,
            "alice"
        );
        assert_eq!(
            text(&browser, &format!("{} .device", row(&steer))).await,
            "laptop"
        );
        assert!(
            !overflows(&browser).await,
            "{size}: the overview runs off-screen"
        );
        if size == "phone" {
            screenshot(&browser, "admin-overview-phone").await;
        }
        click(
            &browser,
            &format!("{} button[data-action='pause']", row(&steer)),
        )
        .await;
        text_with(&browser, &format!("{} .status", row(&steer)), "paused").await;
        assert_eq!(status_of(steer.clone()).await, "paused");
        click(
            &browser,
            &format!("{} button[data-action='resume']", row(&steer)),
        )
        .await;
        text_with(&browser, &format!("{} .status", row(&steer)), "active").await;
        assert_eq!(status_of(steer.clone()).await, "active");
        // Live: a pause through the API shows, with its Resume button, without a reload.
        until(
            &browser,
            "document.documentElement.dataset.live === 'connected'",
        )
        .await;
        browser
            .execute("window.__sameDocument = true;", vec![])
            .await
            .expect("marker");
        let (status, body) = alice
            .post(&format!("/api/sync/upload/{steer}/pause"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        text_with(&browser, &format!("{} .status", row(&steer)), "paused").await;
        until(
            &browser,
            &format!(
                "!document.querySelector(\"{} form.resume\").hidden",
                row(&steer)
            ),
        )
        .await;
        // A finished upload leaves the list by itself.
        for (n, piece) in data.chunks(chunk).enumerate() {
            let (status, body) = alice.put_chunk(&finish, n as i64, piece).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        until(
            &browser,
            &format!("document.querySelector(\"{}\") === null", row(&finish)),
        )
        .await;
        assert_eq!(
            browser
                .execute("return window.__sameDocument === true;", vec![])
                .await
                .expect("marker"),
            Value::Bool(true)
        );
        click(
            &browser,
            &format!("{} button[data-action='cancel']", row(&steer)),
        )
        .await;
        until(
            &browser,
            &format!("document.querySelector(\"{}\") === null", row(&steer)),
        )
        .await;
        assert_eq!(status_of(steer.clone()).await, "upload_cancelled");

        // Schedules: every field; a refused post keeps them all; edit; delete.
        browser.goto(&server.url("/schedules")).await.expect("goto");
        find(&browser, "#device")
            .await
            .select_by_value(&format!("{alice_id}:laptop"))
            .await
            .expect("device");
        find(&browser, "#schedule_type")
            .await
            .select_by_value("weekly")
            .await
            .expect("type");
        find(&browser, "#day_of_week")
            .await
            .select_by_value("6")
            .await
            .expect("day");
        fill(&browser, "#time_of_day", "03:30").await;
        fill(&browser, "#timezone", "Asia/Nowhere").await;
        find(&browser, "#resolve_conflicts")
            .await
            .select_by_value("keep_local")
            .await
            .expect("conflicts");
        fill(&browser, "#debounce_seconds", "90").await;
        click(&browser, "#sync_deletions").await;
        click(&browser, "#create-button").await;
        text_with(&browser, "#timezone-error", "time zone").await;
        for (css, expected) in [
            ("#schedule_type", "weekly"),
            ("#day_of_week", "6"),
            ("#time_of_day", "03:30"),
            ("#timezone", "Asia/Nowhere"),
            ("#resolve_conflicts", "keep_local"),
            ("#debounce_seconds", "90"),
        ] {
            assert_eq!(value_of(&browser, css).await, expected, "{size}: {css}");
        }
        assert_eq!(
            find(&browser, "#sync_deletions")
                .await
                .prop("checked")
                .await
                .expect("checked")
                .as_deref(),
            Some("true")
        );
        assert!(
            !overflows(&browser).await,
            "{size}: the schedule form runs off-screen"
        );
        fill(&browser, "#timezone", "Asia/Tokyo").await;
        click(&browser, "#create-button").await;
        let created = text_with(&browser, "#created", "Schedule created").await;
        assert!(
            created.contains("Sun ") && created.contains("03:30 Asia/Tokyo"),
            "{created}"
        );
        assert!(created.contains("18:30 UTC"), "{created}");
        let schedules = admin
            .graphql(
                "{ schedules { id dayOfWeek timezone syncDeletions resolveConflicts debounceSeconds } }",
                json!({}),
            )
            .await;
        let made = schedules["data"]["schedules"]
            .as_array()
            .expect("schedules")
            .last()
            .expect("made")
            .clone();
        assert_eq!(made["dayOfWeek"], 6, "{made}");
        assert_eq!(made["syncDeletions"], true, "{made}");
        assert_eq!(made["resolveConflicts"], "KEEP_LOCAL", "{made}");
        assert_eq!(made["debounceSeconds"], 90, "{made}");
        let id = made["id"].as_str().expect("id").to_owned();
        let schedule_row = format!("#schedules tr[data-schedule-id='{id}']");
        text_with(&browser, &format!("{schedule_row} .when"), "Sunday").await;
        text_with(&browser, &format!("{schedule_row} .next"), "Asia/Tokyo").await;
        text_with(&browser, &format!("{schedule_row} .how"), "deletions sync").await;
        assert!(
            !overflows(&browser).await,
            "{size}: the schedules run off-screen"
        );
        // Edit: the form opens with the schedule's values; change the day and time.
        click(&browser, &format!("{schedule_row} a[data-action='edit']")).await;
        text_with(&browser, "#schedule-form-title", "Edit schedule").await;
        assert_eq!(value_of(&browser, "#resolve_conflicts").await, "keep_local");
        assert_eq!(value_of(&browser, "#timezone").await, "Asia/Tokyo");
        find(&browser, "#day_of_week")
            .await
            .select_by_value("0")
            .await
            .expect("day");
        fill(&browser, "#time_of_day", "07:15").await;
        click(&browser, "#save-button").await;
        text_with(&browser, "#created", "Schedule saved").await;
        text_with(&browser, &format!("{schedule_row} .when"), "07:15, Monday").await;
        if size == "desktop" {
            screenshot(&browser, "admin-schedules-desktop").await;
        }
        let edited = admin
            .graphql(
                "query($id: ID) { scheduleRuns(scheduleId: $id) { nodes { id } } schedules { id dayOfWeek timeOfDay resolveConflicts } }",
                json!({ "id": id }),
            )
            .await;
        let edited = edited["data"]["schedules"]
            .as_array()
            .expect("schedules")
            .iter()
            .find(|s| s["id"] == id.as_str())
            .expect("edited")
            .clone();
        assert_eq!(edited["dayOfWeek"], 0, "{edited}");
        assert_eq!(edited["timeOfDay"], "07:15", "{edited}");
        assert_eq!(edited["resolveConflicts"], "KEEP_LOCAL", "{edited}");
        // Delete asks for the box first.
        click(&browser, &format!("{schedule_row} a[data-action='edit']")).await;
        click(&browser, "#delete-button").await;
        text_with(&browser, "#confirm-error", "Tick the box").await;
        click(&browser, "#confirm").await;
        click(&browser, "#delete-button").await;
        find(&browser, "#deleted").await;
        let left = admin.graphql("{ schedules { id } }", json!({})).await;
        assert!(
            !left["data"]["schedules"]
                .as_array()
                .expect("schedules")
                .iter()
                .any(|s| s["id"] == id.as_str()),
            "{left}"
        );

        // Audit: names, before → after, filters and paging both ways.
        browser.goto(&server.url("/audit")).await.expect("goto");
        let entries = text(&browser, "#audit tbody").await;
        assert!(entries.contains("schedule.deleted"), "{entries}");
        assert!(
            !entries.contains(&alice_id),
            "{size}: a raw id is shown: {entries}"
        );
        // Each entry names its target: the upload by its file, the schedule by its device.
        let named = |action: &str| {
            format!(
                "return [...document.querySelectorAll('#audit tbody tr')]\
                 .filter(tr => tr.querySelector('td.action').textContent === '{action}')\
                 .map(tr => tr.querySelector('.target .name').textContent);"
            )
        };
        let cancelled = browser
            .execute(&named("upload.cancelled"), vec![])
            .await
            .expect("names");
        assert_eq!(cancelled[0], format!("/{size}/steer.bin"), "{cancelled}");
        let updated = browser
            .execute(&named("schedule.updated"), vec![])
            .await
            .expect("names");
        assert_eq!(updated[0], "laptop", "{updated}");
        // What changed, before → after.
        click(&browser, "#audit details.change summary").await;
        text_with(&browser, "#audit details.change[open] li", ":").await;
        assert!(
            !overflows(&browser).await,
            "{size}: the audit log runs off-screen"
        );
        if size == "phone" {
            screenshot(&browser, "admin-audit-phone").await;
        }
        // Only schedule actions.
        find(&browser, "#filter-action")
            .await
            .select_by_value("schedule")
            .await
            .expect("action");
        click(&browser, "#apply-filter").await;
        until(&browser, "location.search.includes('action=schedule')").await;
        let actions = browser
            .execute(
                "return [...document.querySelectorAll('#audit td.action')].map(td => td.textContent);",
                vec![],
            )
            .await
            .expect("actions");
        let actions = actions.as_array().expect("list");
        assert!(!actions.is_empty());
        assert!(
            actions
                .iter()
                .all(|a| a.as_str().unwrap_or("").starts_with("schedule.")),
            "{actions:?}"
        );
        assert_eq!(value_of(&browser, "#filter-action").await, "schedule");
        // A day long ago holds nothing; a bad date is said beside its field.
        browser
            .goto(&server.url("/audit?until=2001-01-01"))
            .await
            .expect("goto");
        find(&browser, "#audit-empty").await;
        browser
            .goto(&server.url("/audit?since=yesterday"))
            .await
            .expect("goto");
        text_with(&browser, "#since-error", "not a date").await;
        // Everything about alice, then older and back newer.
        browser.goto(&server.url("/audit")).await.expect("goto");
        find(&browser, "#filter-user")
            .await
            .select_by_value(&alice_id)
            .await
            .expect("user");
        click(&browser, "#apply-filter").await;
        until(&browser, "location.search.includes('user=')").await;
        for _ in 0..25 {
            // Enough of alice's entries for two pages.
            admin
                .graphql(
                    "mutation($input: BandwidthLimitInput!) { setBandwidthLimit(input: $input) { id } }",
                    json!({ "input": { "userId": alice_id, "uploadSpeedLimit": 1_048_576, "throttleEnabled": false } }),
                )
                .await;
        }
        browser.refresh().await.expect("reload");
        let first = entry_ids(&browser).await;
        assert_eq!(first.len(), 20);
        click(&browser, "#next-page").await;
        until(&browser, "location.search.includes('after=')").await;
        assert!(
            path_of(&browser).await.contains("user="),
            "the filter stays"
        );
        let second = entry_ids(&browser).await;
        assert!(!second.is_empty());
        click(&browser, "#newer-page").await;
        until(&browser, "location.search.includes('before=')").await;
        assert_eq!(
            entry_ids(&browser).await,
            first,
            "{size}: back to the newer page"
        );
        assert!(browser.find(Locator::Css("#newer-page")).await.is_err());

        // Users: a refused create keeps the username; disable and enable.
        browser.goto(&server.url("/users")).await.expect("goto");
        let dave = format!("dave-{size}");
        fill(&browser, "#new-username", &dave).await;
        browser
            .execute(
                "document.querySelector('#new-password').removeAttribute('minlength');",
                vec![],
            )
            .await
            .expect("script");
        fill(&browser, "#new-password", "short").await;
        click(&browser, "#create-user").await;
        find(&browser, "#password-error").await;
        assert_eq!(value_of(&browser, "#new-username").await, dave);
        fill(&browser, "#new-password", PASSWORD).await;
        click(&browser, "#create-user").await;
        text_with(&browser, "#done", &format!("Created {dave}")).await;
        click(
            &browser,
            &format!("section[data-user='{dave}'] button.disable"),
        )
        .await;
        text_with(&browser, "#done", &format!("Disabled {dave}")).await;
        click(
            &browser,
            &format!("section[data-user='{dave}'] button.enable"),
        )
        .await;
        text_with(&browser, "#done", &format!("Enabled {dave}")).await;
        assert!(
            !overflows(&browser).await,
            "{size}: the users page runs off-screen"
        );

        // Bandwidth: a refused limit keeps every field; then saved.
        browser
            .goto(&server.url(&format!("/bandwidth?user={alice_id}")))
            .await
            .expect("goto");
        fill(&browser, "#download_speed_limit", "2048").await;
        fill(&browser, "#timezone", "Mars/Olympus").await;
        click(&browser, "#save-limit").await;
        find(&browser, "#timezone-error").await;
        assert_eq!(value_of(&browser, "#download_speed_limit").await, "2048");
        assert!(
            !overflows(&browser).await,
            "{size}: the bandwidth page runs off-screen"
        );
        fill(&browser, "#timezone", "UTC").await;
        click(&browser, "#save-limit").await;
        find(&browser, "#saved").await;
        let (_, limit) = alice.get("/api/sync/bandwidth/limit").await;
        assert_eq!(limit["download_speed_limit"], 2048 * 1024, "{limit}");

        // Selective sync: an exclusion survives an unchanged save.
        let (status, body) = alice
            .post(
                "/api/sync/selective/configure",
                json!({ "device_id": "laptop", "folders": [
                    { "path": "/Photos", "enabled": true, "include_subfolders": true },
                    { "path": "/Photos/Raw", "enabled": false, "include_subfolders": true },
                ] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        browser
            .goto(&server.url(&format!("/selective?device={alice_id}:laptop")))
            .await
            .expect("goto");
        click(&browser, "#save-folders").await;
        find(&browser, "#saved").await;
        assert!(
            !overflows(&browser).await,
            "{size}: the selective page runs off-screen"
        );
        let (_, folders) = alice.get("/api/sync/selective/list/laptop").await;
        assert!(
            folders["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .any(|f| f["path"] == "/Photos/Raw" && f["enabled"] == false),
            "{folders}"
        );
        browser.close().await.expect("close");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_storage_and_collects_garbage_from_the_storage_page() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = ferry_tests::TestServer::start_with(ferry_tests::Backend::Sqlite, |s| {
        s.gc_grace_secs = 0;
    })
    .await
    .expect("server");
    let alice = server.api(&server.user_token("alice").await);
    let kept = random_bytes(3 * 65_536, 8);
    alice.upload_file("/kept.bin", &kept, 65_536).await;
    // An upload cancelled after one chunk leaves a block nobody uses.
    let (_, started) = alice
        .start_upload("/gone.bin", 2 * 65_536, Some(65_536), None)
        .await;
    let id = started["upload_id"].as_str().expect("id").to_owned();
    alice.put_chunk(&id, 0, &random_bytes(65_536, 9)).await;
    let (status, _) = alice.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::OK);

    let browser = driver.browser().await;
    sign_in(&browser, &server.base, "admin", ferry_tests::ADMIN_PASSWORD).await;
    // The navigation offers the page to admins.
    find(&browser, "nav a[href='/storage']").await;
    browser.goto(&server.url("/storage")).await.expect("goto");
    assert_eq!(
        text(&browser, "#space-used").await,
        "The collector has not run yet."
    );
    click(&browser, "#collect").await;
    text_with(&browser, "#collected", "Collected").await;
    let row = text(&browser, "#runs tbody tr").await;
    assert!(
        row.contains("64.0 KiB"),
        "one 64 KiB block reclaimed: {row}"
    );
    text_with(&browser, "#space-used", "192.0 KiB in 3 blocks").await;
    screenshot(&browser, "admin-storage-desktop").await;
    assert_eq!(alice.download("/kept.bin").await, kept);
    browser.close().await.expect("close");
}
