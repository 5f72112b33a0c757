//! A file's history: every version listed newest first, a restore is a new
//! version with the old bytes (a deleted file comes back), and nobody sees or
//! restores another user's history.
use futures_util::TryStreamExt;

use super::fixture;
use crate::service::{Caller, Code, Role, Services};

async fn put(s: &Services, caller: &Caller, path: &str, bytes: &'static str) {
    let mut writer = s
        .write_file(caller, path, Some(bytes.len() as u64))
        .await
        .expect("writer");
    writer.write(bytes.into()).await.expect("write");
    writer.commit().await.expect("commit");
}

async fn read(s: &Services, caller: &Caller, path: &str) -> String {
    let open = s.open_file(caller, path, None).await.expect("open");
    let size = open.content.size();
    let bytes = open
        .content
        .stream(0, size, 64 * 1024)
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .expect("read");
    String::from_utf8(bytes).expect("text")
}

async fn a_restore_is_a_new_version_with_the_old_bytes(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    s.create_user(Some(&f.admin), "alice", "alice-password", Role::User)
        .await
        .expect("alice");
    let alice = s
        .authenticate(&f.login("alice", "alice-password", None).await)
        .await
        .expect("alice");
    put(s, &alice, "/notes.txt", "first").await;
    put(s, &alice, "/notes.txt", "second").await;

    let history = s
        .file_versions(&alice, "/notes.txt")
        .await
        .expect("history");
    let listed: Vec<_> = history.iter().map(|v| (v.version, v.current)).collect();
    assert_eq!(listed, [(2, true), (1, false)]);
    assert_eq!(history[1].size, 5);

    let restored = s
        .restore_version(&alice, "/notes.txt", 1)
        .await
        .expect("restore");
    assert_eq!(restored.version, 3);
    assert_eq!(restored.sha256, history[1].sha256);
    assert_eq!(read(s, &alice, "/notes.txt").await, "first");
    let listed: Vec<_> = s
        .file_versions(&alice, "/notes.txt")
        .await
        .expect("history")
        .iter()
        .map(|v| (v.version, v.current))
        .collect();
    assert_eq!(listed, [(3, true), (2, false), (1, false)]);

    // A deleted file keeps its history, none of it current, and comes back.
    s.delete_file(&alice, "/notes.txt").await.expect("delete");
    let history = s.file_versions(&alice, "/notes.txt").await.expect("kept");
    assert!(history.iter().all(|v| !v.current));
    let back = s
        .restore_version(&alice, "/notes.txt", 2)
        .await
        .expect("undelete");
    assert_eq!(back.version, 4);
    assert_eq!(read(s, &alice, "/notes.txt").await, "second");

    // Unknown versions and paths are 404; another user's history is 404, never data.
    for err in [
        s.restore_version(&alice, "/notes.txt", 99)
            .await
            .expect_err("no such version"),
        s.restore_version(&f.admin, "/notes.txt", 1)
            .await
            .expect_err("the admin's own tree has no such file"),
    ] {
        assert_eq!(err.code(), Code::NotFound);
    }
    let err = s
        .file_versions(&f.admin, "/notes.txt")
        .await
        .expect_err("not the admin's file");
    assert_eq!(err.code(), Code::NotFound);
    let err = s
        .file_versions(&alice, "/a/../../b")
        .await
        .expect_err("a bad path");
    assert_ne!(err.code(), Code::NotFound);

    // A folder now at a deleted file's path leaves nowhere to restore to.
    put(s, &alice, "/old.txt", "old").await;
    s.delete_file(&alice, "/old.txt").await.expect("delete");
    s.create_folder(&alice, "/old.txt").await.expect("folder");
    let err = s
        .restore_version(&alice, "/old.txt", 1)
        .await
        .expect_err("a folder is there");
    assert_eq!(err.code(), Code::AlreadyExists);
}

on_both!(a_restore_is_a_new_version_with_the_old_bytes);
