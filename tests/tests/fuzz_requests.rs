//! Property tests through the real server: random and adversarial multipart
//! chunk requests and WebDAV XML bodies end in a documented 4xx (or success),
//! never a 5xx or a hang (a crash of the in-process server ends this test
//! binary, so it fails too).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use ferry_tests::{PASSWORD, TestServer, sha256_hex};
use proptest::prelude::*;
use reqwest::Method;

/// Statuses a chunk request may answer (SPEC: upload errors).
const CHUNK_STATUSES: &[u16] = &[200, 400, 404, 408, 409, 410, 413, 422, 429];
/// Statuses a WebDAV request with a body may answer (RFC 4918, 501 for a method
/// dav-server does not implement, and the SPEC's bounds).
const DAV_STATUSES: &[u16] = &[
    200, 201, 204, 207, 400, 403, 404, 405, 409, 412, 413, 415, 422, 423, 424, 429, 501, 502,
];

/// One server for all cases, and the runtime it runs on.
struct Fixture {
    // The server goes before the runtime it runs on.
    server: TestServer,
    runtime: tokio::runtime::Runtime,
    token: String,
    upload: String,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, token, upload) = runtime.block_on(async {
        let server = TestServer::start().await;
        let token = server.user_token("fuzz").await;
        let data = vec![1u8; 4096];
        let (_, started) = server
            .api(&token)
            .start_upload("/fuzz.bin", 4096, Some(1024), Some(&sha256_hex(&data)))
            .await;
        let upload = started["upload_id"].as_str().unwrap().to_owned();
        (server, token, upload)
    });
    Fixture {
        runtime,
        server,
        token,
        upload,
    }
}

/// Pieces a multipart body is made of, good and broken.
fn multipart_piece(boundary: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(format!("--{boundary}\r\n").into_bytes()),
        Just(format!("--{boundary}--\r\n").into_bytes()),
        Just(format!("--{boundary}").into_bytes()),
        Just(
            b"Content-Disposition: form-data; name=\"chunk_file\"; filename=\"c\"\r\n\r\n".to_vec()
        ),
        Just(b"Content-Disposition: form-data; name=\"chunk_hash\"\r\n\r\n".to_vec()),
        Just(b"Content-Disposition: form-data; name=\"other\"\r\n\r\n".to_vec()),
        Just(b"Content-Disposition: form-data; name=\"".to_vec()),
        Just(b"Content-Type: application/octet-stream\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(vec![1u8; 1024]),
        Just(sha256_hex(&[1u8; 1024]).into_bytes()),
        "[0-9a-f]{0,80}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

fn multipart_body() -> impl Strategy<Value = (Vec<u8>, i64)> {
    (
        proptest::collection::vec(multipart_piece("B0und"), 0..24).prop_map(|p| p.concat()),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(3),
            Just(4),
            Just(-1),
            any::<i64>()
        ],
    )
}

fn xml_body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<?xml version=\"1.0\" encoding=\"utf-8\"?>".to_owned()),
        Just("<D:propfind xmlns:D=\"DAV:\">".to_owned()),
        Just("</D:propfind>".to_owned()),
        Just("<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop>".to_owned()),
        Just("</D:prop></D:set></D:propertyupdate>".to_owned()),
        Just("<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>".to_owned()),
        Just("</D:lockinfo>".to_owned()),
        Just("<D:prop>".to_owned()),
        Just("</D:prop>".to_owned()),
        Just("<D:allprop/>".to_owned()),
        Just("<x:y xmlns:x=\"urn:x\">v</x:y>".to_owned()),
        Just("<a xmlns=\"\">".to_owned()),
        Just("<![CDATA[<]]>".to_owned()),
        Just("&amp;&lt;&#x0;&bogus;".to_owned()),
        Just("<!-- c -->".to_owned()),
        "[<>/:=\"a-z ]{0,12}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn chunk_requests_answer_a_documented_status((body, chunk) in multipart_body()) {
        let f = FIXTURE.with(|f| f.clone());
        let status = f.runtime.block_on(async {
            let response = f.server
                .client
                .post(f.server.url(&format!("/api/sync/upload/{}/chunk/{chunk}", f.upload)))
                .bearer_auth(&f.token)
                .header("content-type", "multipart/form-data; boundary=B0und")
                .body(body)
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap();
            response.status()
        });
        prop_assert!(CHUNK_STATUSES.contains(&status.as_u16()), "undocumented {status}");
    }

    #[test]
    fn webdav_xml_bodies_answer_a_documented_status(
        body in xml_body(),
        verb in prop_oneof![Just("PROPFIND"), Just("PROPPATCH"), Just("LOCK"), Just("REPORT")],
        path in prop_oneof![Just("/"), Just("/a.txt"), Just("/missing/deeper")],
    ) {
        let f = FIXTURE.with(|f| f.clone());
        let status = f.runtime.block_on(async {
            f.server
                .client
                .request(Method::from_bytes(verb.as_bytes()).unwrap(), f.server.url(&format!("/webdav{path}")))
                .basic_auth("fuzz", Some(PASSWORD))
                .header("content-type", "application/xml")
                .body(body)
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap()
                .status()
        });
        prop_assert!(DAV_STATUSES.contains(&status.as_u16()), "undocumented {status} for {verb} {path}");
    }
}

thread_local! {
    /// Each test thread gets its own server (proptest runs each test on one thread).
    static FIXTURE: std::rc::Rc<Fixture> = std::rc::Rc::new(fixture());
}
