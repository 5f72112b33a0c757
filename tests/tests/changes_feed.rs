//! The changes feed over the real server: REST, GraphQL and the `fileChanges`
//! subscription see chunked uploads and WebDAV writes alike, in commit order;
//! bad cursors and parameters get the SPEC's errors.
use ferry_tests::on_both_backends;
use ferry_tests::socket::{connect, next_json, subscribe};
use ferry_tests::{Backend, PASSWORD, TestServer, random_bytes};
use reqwest::Method;
use serde_json::{Value, json};

fn summary(changes: &Value) -> Vec<(String, String)> {
    changes
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let kind = c["kind"].as_str().expect("kind").to_lowercase();
            (kind, c["path"].as_str().expect("path").to_owned())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
        .collect()
}

async fn webdav_and_uploads_appear_in_rest_graphql_and_the_subscription(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let token = server.user_token("alice").await;
    let api = server.api(&token);
    // The listing of an empty tree, then a live subscription.
    let (status, first) = api.get("/api/sync/changes?device_id=laptop").await;
    assert_eq!(status.as_u16(), 200, "{first}");
    assert_eq!(first["changes"], json!([]));
    assert_eq!(first["has_more"], json!(false));
    let cursor = first["cursor"].as_str().expect("cursor").to_owned();
    let mut socket = connect(&server.base, Some(&token)).await;
    subscribe(
        &mut socket,
        "1",
        "subscription { fileChanges(deviceId: \"laptop\") { path kind version size sha256 } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // A chunked upload, then WebDAV: MKCOL, PUT, MOVE, DELETE.
    api.upload_file("/up.bin", &random_bytes(3000, 1), 1024)
        .await;
    let dav = |verb: &str, path: &str| {
        server
            .client
            .request(
                Method::from_bytes(verb.as_bytes()).expect("verb"),
                server.url(&format!("/webdav{path}")),
            )
            .basic_auth("alice", Some(PASSWORD))
    };
    assert!(
        dav("MKCOL", "/Docs")
            .send()
            .await
            .expect("mkcol")
            .status()
            .is_success()
    );
    assert!(
        dav("PUT", "/Docs/a.txt")
            .body("a")
            .send()
            .await
            .expect("put")
            .status()
            .is_success()
    );
    let moved = dav("MOVE", "/Docs")
        .header("Destination", server.url("/webdav/Moved"))
        .send()
        .await
        .expect("move");
    assert!(moved.status().is_success(), "{}", moved.status());
    assert!(
        dav("DELETE", "/Moved")
            .send()
            .await
            .expect("delete")
            .status()
            .is_success()
    );
    let expected = pairs(&[
        ("file", "/up.bin"),
        ("folder", "/Docs"),
        ("file", "/Docs/a.txt"),
        ("folder", "/Moved"),
        ("file", "/Moved/a.txt"),
        ("delete", "/Docs/a.txt"),
        ("delete", "/Docs"),
        ("delete", "/Moved/a.txt"),
        ("delete", "/Moved"),
    ]);

    let (status, page) = api
        .get(&format!(
            "/api/sync/changes?device_id=laptop&cursor={cursor}"
        ))
        .await;
    assert_eq!(status.as_u16(), 200, "{page}");
    assert_eq!(summary(&page["changes"]), expected, "{page}");
    assert_eq!(page["changes"][0]["size"], json!(3000));

    let answer = api
        .graphql(
            "query($c: String) { changes(deviceId: \"laptop\", after: $c, first: 4) { changes { path kind } cursor hasMore } }",
            json!({ "c": cursor }),
        )
        .await;
    let graph = &answer["data"]["changes"];
    assert_eq!(
        summary(&graph["changes"]),
        expected[..4].to_vec(),
        "{answer}"
    );
    assert_eq!(graph["hasMore"], json!(true));

    let mut streamed = Vec::new();
    while streamed.len() < expected.len() {
        let message = next_json(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        let change = &message["payload"]["data"]["fileChanges"];
        streamed.push((
            change["kind"].as_str().expect("kind").to_lowercase(),
            change["path"].as_str().expect("path").to_owned(),
        ));
    }
    assert_eq!(streamed, expected);
}

async fn bad_requests_get_the_spec_errors(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let api = server.api(&server.user_token("alice").await);
    server.user_token("bob").await;
    let cases = [
        (
            "/api/sync/changes?device_id=laptop&cursor=c.999",
            410,
            "cursor_expired",
        ),
        (
            "/api/sync/changes?device_id=laptop&cursor=nonsense",
            400,
            "invalid_input",
        ),
        (
            "/api/sync/changes?device_id=laptop&limit=0",
            422,
            "invalid_input",
        ),
        (
            "/api/sync/changes?device_id=laptop&limit=abc",
            422,
            "invalid_input",
        ),
        (
            "/api/sync/changes?device_id=laptop&wait=-1",
            422,
            "invalid_input",
        ),
        ("/api/sync/changes", 400, "invalid_input"),
        // A device-bound token reads only its own device's feed.
        ("/api/sync/changes?device_id=phone", 403, "forbidden"),
    ];
    for (path, status, code) in cases {
        let (got, body) = api.get(path).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        assert_eq!(body["error"]["code"], json!(code), "{path}: {body}");
    }
    // Unknown devices, and other users' devices, are 404.
    server.login("alice", PASSWORD, Some("phone")).await;
    let alice = server.api(&server.login("alice", PASSWORD, None).await);
    let (status, body) = alice.get("/api/sync/changes?device_id=nope").await;
    assert_eq!(
        (status.as_u16(), &body["error"]["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
    let bob = server.api(&server.login("bob", PASSWORD, None).await);
    let (status, body) = bob.get("/api/sync/changes?device_id=phone").await;
    assert_eq!(status.as_u16(), 404, "{body}");
}

on_both_backends!(webdav_and_uploads_appear_in_rest_graphql_and_the_subscription);
on_both_backends!(bad_requests_get_the_spec_errors);
