//! GraphQL over HTTP against the real server: the same services as REST.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{TestServer, random_bytes};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn gql(server: &TestServer, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = server
        .client
        .post(server.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn error_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

#[tokio::test]
async fn queries_and_mutations_share_the_rest_services() {
    let server = TestServer::start().await;
    let token = server.user_token("alice").await;
    let api = server.api(&token);
    let data = random_bytes(3000, 1);
    api.upload_file("/Docs/a.bin", &data, 1024).await;
    let (_, started) = api
        .start_upload("/Docs/b.bin", 2048, Some(1024), None)
        .await;
    let upload_id = started["upload_id"].as_str().unwrap();
    api.put_chunk(upload_id, 1, &data[..1024]).await;

    let answer = gql(
        &server,
        Some(&token),
        "query($id: ID!) { me { username role deviceId } files(prefix: \"/Docs\") { id path size version }
           uploads { uploadId status } upload(id: $id) { status totalChunks completedChunks progressPercent missingChunks resumeFromChunk } }",
        json!({ "id": upload_id }),
    )
    .await;
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    let d = &answer["data"];
    assert_eq!(
        d["me"],
        json!({ "username": "alice", "role": "USER", "deviceId": "laptop" })
    );
    assert_eq!(d["files"][0]["path"], "/Docs/a.bin");
    assert_eq!(d["files"][0]["size"], 3000);
    assert_eq!(d["uploads"][0]["uploadId"], upload_id);
    assert_eq!(d["upload"]["status"], "ACTIVE");
    assert_eq!(d["upload"]["progressPercent"], 50.0);
    assert_eq!(d["upload"]["missingChunks"], json!([[0, 0]]));

    let answer = gql(
        &server,
        Some(&token),
        "mutation($id: ID!) { pauseUpload(id: $id) { status }
           configureSelectiveSync(deviceId: \"laptop\", folders: [{ path: \"/Docs\" }, { path: \"/Docs/Old\", enabled: false }])
           setBandwidthLimit(input: { throttleEnabled: true, uploadSpeedLimit: 1048576, throttleStartHour: 22, throttleEndHour: 6 }) { uploadSpeedLimit timezone } }",
        json!({ "id": upload_id }),
    )
    .await;
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    assert_eq!(answer["data"]["pauseUpload"]["status"], "PAUSED");
    assert_eq!(answer["data"]["configureSelectiveSync"], 2);
    assert_eq!(
        answer["data"]["setBandwidthLimit"],
        json!({ "uploadSpeedLimit": 1048576, "timezone": "UTC" })
    );

    let answer = gql(
        &server,
        Some(&token),
        "{ selectiveSyncCheck(deviceId: \"laptop\", paths: [\"/Docs/x\", \"/Docs/Old/y\", \"/Music/z\"]) { path synced }
           bandwidthLimit { throttleStartHour } }",
        json!({}),
    )
    .await;
    let synced: Vec<bool> = answer["data"]["selectiveSyncCheck"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["synced"].as_bool().unwrap())
        .collect();
    assert_eq!(synced, [true, false, false]);
    assert_eq!(answer["data"]["bandwidthLimit"]["throttleStartHour"], 22);
    // The REST view agrees.
    assert_eq!(
        api.get("/api/sync/selective/list/laptop").await.1["folders"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn schedules_preview_and_admin_rules() {
    let server = TestServer::start().await;
    let user = server.user_token("alice").await;
    let admin = server.admin_token().await;
    let preview = "{ schedulePreview(input: { scheduleType: DAILY, timeOfDay: \"02:00\" }, after: \"2025-01-05T10:00:00Z\", count: 2) }";
    let answer = gql(&server, Some(&user), preview, json!({})).await;
    assert_eq!(
        answer["data"]["schedulePreview"],
        json!(["2025-01-06T02:00:00+00:00", "2025-01-07T02:00:00+00:00"])
    );

    let create = "mutation($user: ID) { createSchedule(input: { deviceId: \"laptop\", userId: $user, scheduleType: MONTHLY,
                    timeOfDay: \"03:00\", dayOfMonth: 31, resolveConflicts: KEEP_SERVER }) { id scheduleType resolveConflicts nextRunAt enabled } }";
    let alice_id =
        gql(&server, Some(&user), "{ me { id } }", json!({})).await["data"]["me"]["id"].clone();
    let answer = gql(&server, Some(&user), create, json!({ "user": alice_id })).await;
    assert_eq!(error_code(&answer), "forbidden", "{answer}");
    let answer = gql(&server, Some(&admin), create, json!({ "user": alice_id })).await;
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    let schedule = &answer["data"]["createSchedule"];
    assert_eq!(schedule["scheduleType"], "MONTHLY");
    assert_eq!(schedule["resolveConflicts"], "KEEP_SERVER");
    let id = schedule["id"].as_str().unwrap();
    let answer = gql(
        &server,
        Some(&admin),
        "mutation($id: ID!) { disableSchedule(id: $id) { enabled } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(answer["data"]["disableSchedule"]["enabled"], false);
    let answer = gql(
        &server,
        Some(&user),
        "{ schedules { id enabled } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answer["data"]["schedules"],
        json!([{ "id": id, "enabled": false }])
    );

    let update = "mutation($id: ID!, $day: Int) { updateSchedule(id: $id, input: { timeOfDay: \"04:30\", dayOfMonth: $day }) { timeOfDay dayOfMonth nextRunAt } }";
    let answer = gql(
        &server,
        Some(&admin),
        update,
        json!({ "id": id, "day": 15 }),
    )
    .await;
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    assert_eq!(answer["data"]["updateSchedule"]["timeOfDay"], "04:30");
    assert_eq!(answer["data"]["updateSchedule"]["dayOfMonth"], 15);
    let answer = gql(
        &server,
        Some(&admin),
        update,
        json!({ "id": id, "day": 40 }),
    )
    .await;
    assert_eq!(error_code(&answer), "invalid_day_of_month");
    let answer = gql(&server, Some(&user), update, json!({ "id": id, "day": 1 })).await;
    assert_eq!(error_code(&answer), "forbidden");
    let answer = gql(
        &server,
        Some(&admin),
        "mutation($id: ID!) { deleteSchedule(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(answer["data"]["deleteSchedule"], true);
    let answer = gql(&server, Some(&user), "{ schedules { id } }", json!({})).await;
    assert_eq!(answer["data"]["schedules"], json!([]));

    let bad = "mutation { createSchedule(input: { deviceId: \"laptop\", scheduleType: WEEKLY, timeOfDay: \"03:00\", dayOfWeek: 9 }) { id } }";
    let answer = gql(&server, Some(&admin), bad, json!({})).await;
    assert_eq!(
        error_code(&answer),
        "not_found",
        "the admin has no device 'laptop'"
    );
}

#[tokio::test]
async fn errors_carry_codes_and_limits_hold() {
    let server = TestServer::start().await;
    let answer = gql(&server, None, "{ me { username } }", json!({})).await;
    assert_eq!(error_code(&answer), "unauthorized");
    let alice = server.user_token("alice").await;
    let bob = server.user_token("bob").await;
    let (_, started) = server
        .api(&alice)
        .start_upload("/x.bin", 10, None, None)
        .await;
    let query = "query($id: ID!) { upload(id: $id) { status } }";
    let answer = gql(
        &server,
        Some(&bob),
        query,
        json!({ "id": started["upload_id"] }),
    )
    .await;
    assert_eq!(error_code(&answer), "not_found", "another user's upload");
    let answer = gql(
        &server,
        Some(&alice),
        "{ bandwidthLimit(userId: \"nope\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&answer), "not_found");

    // Depth is limited; GraphiQL's introspection still passes.
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(24),
        " }".repeat(24)
    );
    let answer = gql(&server, Some(&alice), &deep, json!({})).await;
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{answer}"
    );
    let introspection = "query { __schema { queryType { name } types { name kind fields(includeDeprecated: true) { name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }";
    let answer = gql(&server, Some(&alice), introspection, json!({})).await;
    assert_eq!(answer["errors"], Value::Null, "{answer}");

    let page = server
        .client
        .get(server.url("/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}

#[tokio::test]
async fn users_devices_and_the_audit_log_pages() {
    let server = TestServer::start().await;
    let alice = server.user_token("alice").await;
    server
        .login("alice", ferry_tests::PASSWORD, Some("phone"))
        .await;
    let admin = server.admin_token().await;
    for n in 0..3 {
        server
            .api(&alice)
            .upload_file(&format!("/f{n}.txt"), b"hello", 1024)
            .await;
    }

    let answer = gql(&server, Some(&alice), "{ users { username } }", json!({})).await;
    assert_eq!(error_code(&answer), "forbidden");
    let answer = gql(
        &server,
        Some(&admin),
        "{ users { username role } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answer["data"]["users"],
        json!([{ "username": "admin", "role": "ADMIN" }, { "username": "alice", "role": "USER" }])
    );
    let answer = gql(&server, Some(&alice), "{ devices { deviceId } }", json!({})).await;
    assert_eq!(
        answer["data"]["devices"],
        json!([{ "deviceId": "laptop" }, { "deviceId": "phone" }])
    );

    // The admin pages through everything, newest first, two at a time.
    let page = "query($after: String) { auditLog(first: 2, after: $after) { nodes { id action actor } pageInfo { hasNextPage endCursor } } }";
    let mut actions = Vec::new();
    let mut after = Value::Null;
    loop {
        let answer = gql(&server, Some(&admin), page, json!({ "after": after })).await;
        let log = &answer["data"]["auditLog"];
        assert!(log["nodes"].as_array().unwrap().len() <= 2, "{answer}");
        actions.extend(
            log["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["action"].as_str().unwrap().to_owned()),
        );
        if !log["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = log["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "upload.completed").count(),
        3
    );
    assert_eq!(
        actions.last().map(String::as_str),
        Some("user.created"),
        "oldest last: {actions:?}"
    );
    // A user sees only their own actions (alice made none of these: the system committed them).
    let answer = gql(
        &server,
        Some(&alice),
        "{ auditLog { nodes { action } } }",
        json!({}),
    )
    .await;
    assert_eq!(answer["data"]["auditLog"]["nodes"], json!([]));
}

#[tokio::test]
async fn devices_are_renamed_and_removed_and_tokens_revoked() {
    let server = TestServer::start().await;
    let laptop = server.user_token("alice").await;
    let phone = server
        .login("alice", ferry_tests::PASSWORD, Some("phone"))
        .await;
    let body = json!({ "device_id": "phone", "file_path": "/p.bin", "file_name": "p.bin", "total_size": 10 });
    let (_, started) = server
        .api(&phone)
        .post("/api/sync/upload/start", body)
        .await;
    let upload_id = started["upload_id"].as_str().unwrap().to_owned();

    let answer = gql(
        &server,
        Some(&laptop),
        "mutation { renameDevice(deviceId: \"laptop\", name: \"Work laptop\") { deviceId name } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answer["data"]["renameDevice"],
        json!({ "deviceId": "laptop", "name": "Work laptop" })
    );
    let answer = gql(
        &server,
        Some(&laptop),
        "mutation { renameDevice(deviceId: \"laptop\", name: \"  \") { name } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&answer), "invalid_device_name");
    // A device-bound token acts only for its own device.
    let answer = gql(
        &server,
        Some(&laptop),
        "mutation { removeDevice(deviceId: \"phone\") }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&answer), "forbidden");
    let answer = gql(
        &server,
        Some(&phone),
        "mutation { removeDevice(deviceId: \"phone\") }",
        json!({}),
    )
    .await;
    assert_eq!(answer["data"]["removeDevice"], true, "{answer}");
    // The phone's token went with it, and so did its upload.
    assert_eq!(
        server.api(&phone).get("/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = server
        .api(&laptop)
        .get(&format!("/api/sync/upload/{upload_id}/progress"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let answer = gql(
        &server,
        Some(&laptop),
        "{ devices { deviceId } }",
        json!({}),
    )
    .await;
    assert_eq!(answer["data"]["devices"], json!([{ "deviceId": "laptop" }]));

    let unbound = server.login("alice", ferry_tests::PASSWORD, None).await;
    let answer = gql(
        &server,
        Some(&laptop),
        "{ tokens { id name revokedAt } }",
        json!({}),
    )
    .await;
    let tokens = answer["data"]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{answer}");
    let bob = server.user_token("bob").await;
    let newest = tokens[0]["id"].clone();
    let answer = gql(
        &server,
        Some(&bob),
        "mutation($id: ID!) { revokeToken(id: $id) }",
        json!({ "id": newest }),
    )
    .await;
    assert_eq!(error_code(&answer), "not_found", "another user's token");
    let answer = gql(
        &server,
        Some(&laptop),
        "mutation($id: ID!) { revokeToken(id: $id) }",
        json!({ "id": newest }),
    )
    .await;
    assert_eq!(answer["data"]["revokeToken"], true);
    assert_eq!(
        server.api(&unbound).get("/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.api(&laptop).get("/api/me").await.0, StatusCode::OK);
}

/// GraphiQL is Ferry's own: the page and its scripts come from this server, and a
/// query posted with the dashboard's session cookie runs as its user only when the
/// request comes from this origin.
#[tokio::test]
async fn graphiql_is_served_whole_and_the_session_counts_only_same_origin() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let page = client.get(server.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("https://"),
        "the page names another host: {html}"
    );
    for asset in [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "init.js",
        "LICENSES.txt",
    ] {
        assert!(html.contains(asset) || asset == "LICENSES.txt");
        let response = client
            .get(server.url(&format!("/assets/graphiql/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    let missing = client
        .get(server.url("/assets/graphiql/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_ne!(missing.status(), StatusCode::OK);

    let token = server.admin_token().await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let me = |origin: &'static str| {
        let request = client
            .post(server.url("/graphql"))
            .header("cookie", format!("ferry_session={token}"))
            .json(&json!({ "query": "{ me { username } }" }));
        match origin {
            "none" => request,
            "same" => request.header("origin", format!("http://{host}")),
            other => request.header("origin", other),
        }
        .send()
    };
    let answer: Value = me("same").await.unwrap().json().await.unwrap();
    assert_eq!(answer["data"]["me"]["username"], "admin", "{answer}");
    for origin in ["https://evil.example", "null", "none"] {
        let answer: Value = me(origin).await.unwrap().json().await.unwrap();
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "unauthorized",
            "{origin}: {answer}"
        );
    }
}
