//! The changes feed against a real database: a listing then changes in commit
//! order, every kind of tree write, paging, selective sync, concurrent commits,
//! long polling, restarts and bad cursors; compaction.
use std::{collections::BTreeMap, time::Duration};

use entity::enums::ChangeKind;

use super::{Fixture, fixture};
use crate::service::{
    Caller, Code,
    files::NewVersion,
    files::changes::{Change, ChangePage},
    sync::selective::Folder,
};

/// Commit `content` at `path` as an upload would (folders above made as needed).
async fn put(f: &Fixture, caller: &Caller, path: &str, content: &'static [u8]) {
    let s = &f.services;
    let txn = s.begin_tree_write(caller.user_id).await.expect("begin");
    let new = NewVersion {
        user_id: caller.user_id,
        path,
        sha256: &hex::encode(sha2_of(content)),
        size: content.len() as u64,
        modified_at: s.clock().now(),
        device_id: None,
        upload_id: None,
    };
    s.commit_version(&txn, new).await.expect("commit");
    txn.commit().await.expect("commit");
    s.after_file_change(caller.user_id, path, None).await;
}

async fn page(f: &Fixture, cursor: Option<&str>, limit: u32) -> ChangePage {
    f.services
        .changes(&f.admin, "laptop", cursor, Some(limit), None)
        .await
        .expect("changes")
}

/// Every page from `cursor` until `has_more` is false.
async fn drain(f: &Fixture, cursor: Option<&str>, limit: u32) -> (Vec<Change>, String) {
    let mut all = Vec::new();
    let mut cursor = cursor.map(str::to_owned);
    loop {
        let p = page(f, cursor.as_deref(), limit).await;
        assert!(p.changes.len() <= limit as usize);
        all.extend(p.changes);
        cursor = Some(p.cursor);
        if !p.has_more {
            return (all, cursor.expect("cursor"));
        }
    }
}

fn summary(changes: &[Change]) -> Vec<(ChangeKind, &str)> {
    changes.iter().map(|c| (c.kind, c.path.as_str())).collect()
}

async fn a_listing_then_every_write_in_commit_order(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let (s, admin) = (&f.services, &f.admin);
    s.create_folder(admin, "/Docs").await.expect("mkdir");
    s.create_folder(admin, "/Empty").await.expect("mkdir");
    put(&f, admin, "/Docs/a.txt", b"a").await;
    put(&f, admin, "/top.txt", b"top").await;

    // The listing, two entries a page: folders, then files.
    let (listed, cursor) = drain(&f, None, 2).await;
    let mut kinds = summary(&listed);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            (ChangeKind::File, "/Docs/a.txt"),
            (ChangeKind::File, "/top.txt"),
            (ChangeKind::Folder, "/Docs"),
            (ChangeKind::Folder, "/Empty"),
        ]
    );
    assert!(listed[..2].iter().all(|c| c.kind == ChangeKind::Folder));
    let a = listed.iter().find(|c| c.path == "/Docs/a.txt").expect("a");
    assert_eq!((a.version, a.size), (1, 1));
    assert_eq!(
        a.sha256.as_deref(),
        Some(hex::encode(sha2_of(b"a")).as_str())
    );
    assert!(page(&f, Some(&cursor), 10).await.changes.is_empty());

    // Every kind of write, each seen once, in the order it committed.
    put(&f, admin, "/Docs/a.txt", b"a2").await;
    put(&f, admin, "/New/Deep/b.txt", b"b").await;
    s.copy_file(admin, "/top.txt", "/copy.txt")
        .await
        .expect("copy");
    s.move_entry(admin, "/Docs", "/Moved").await.expect("move");
    s.delete_entry(admin, "/top.txt")
        .await
        .expect("delete file");
    s.delete_entry(admin, "/New").await.expect("delete folder");
    let (changes, _) = drain(&f, Some(&cursor), 3).await;
    assert_eq!(
        summary(&changes),
        vec![
            (ChangeKind::File, "/Docs/a.txt"),
            (ChangeKind::Folder, "/New"),
            (ChangeKind::Folder, "/New/Deep"),
            (ChangeKind::File, "/New/Deep/b.txt"),
            (ChangeKind::File, "/copy.txt"),
            (ChangeKind::Folder, "/Moved"),
            (ChangeKind::File, "/Moved/a.txt"),
            (ChangeKind::Delete, "/Docs/a.txt"),
            (ChangeKind::Delete, "/Docs"),
            (ChangeKind::Delete, "/top.txt"),
            (ChangeKind::Delete, "/New/Deep/b.txt"),
            (ChangeKind::Delete, "/New/Deep"),
            (ChangeKind::Delete, "/New"),
        ]
    );
    assert_eq!(changes[0].version, 2);
    assert_eq!(
        changes[7].version, 2,
        "a deletion names the version deleted"
    );

    // A restarted server (another process on the same database) serves the cursor.
    let again = super::open(&f.database_url, f.options.clone()).await;
    let p = again
        .changes(admin, "laptop", Some(&cursor), Some(100), None)
        .await
        .expect("after a restart");
    assert_eq!(p.changes.len(), changes.len());
}

fn sha2_of(bytes: &[u8]) -> Vec<u8> {
    <sha2::Sha256 as sha2::Digest>::digest(bytes).to_vec()
}

async fn concurrent_commits_all_appear_once(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let (_, cursor) = drain(&f, None, 100).await;
    let writers = (0..16).map(|i| {
        let (s, admin) = (f.services.clone(), f.admin.clone());
        tokio::spawn(async move { s.create_folder(&admin, &format!("/f{i:02}")).await })
    });
    for writer in writers {
        writer.await.expect("join").expect("mkdir");
    }
    let (changes, _) = drain(&f, Some(&cursor), 5).await;
    let mut paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    paths.sort_unstable();
    let expected: Vec<String> = (0..16).map(|i| format!("/f{i:02}")).collect();
    assert_eq!(
        paths,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

async fn selective_sync_filters_the_feed(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let (s, admin) = (&f.services, &f.admin);
    let only_work = vec![Folder {
        path: "/Docs/Work".into(),
        enabled: true,
        include_subfolders: true,
    }];
    s.configure_selective_sync(admin, None, "laptop", only_work)
        .await
        .expect("selective");
    put(&f, admin, "/Docs/Work/w.txt", b"w").await;
    put(&f, admin, "/Docs/private.txt", b"p").await;
    put(&f, admin, "/Music/m.mp3", b"m").await;
    let (listed, cursor) = drain(&f, None, 100).await;
    let mut kinds = summary(&listed);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            (ChangeKind::File, "/Docs/Work/w.txt"),
            (ChangeKind::Folder, "/Docs"),
            (ChangeKind::Folder, "/Docs/Work"),
        ]
    );
    // 50 changes outside, one inside: a page of 1 skips the rest.
    for i in 0..50 {
        s.create_folder(admin, &format!("/Music/{i}"))
            .await
            .expect("mkdir");
    }
    put(&f, admin, "/Docs/Work/w2.txt", b"w2").await;
    let (changes, _) = drain(&f, Some(&cursor), 1).await;
    assert_eq!(
        summary(&changes),
        vec![(ChangeKind::File, "/Docs/Work/w2.txt")]
    );
}

async fn a_waiting_request_wakes_on_a_commit(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let (_, cursor) = drain(&f, None, 100).await;
    let (s, admin) = (f.services.clone(), f.admin.clone());
    let waiting = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let p = s
            .changes(
                &admin,
                "laptop",
                Some(&cursor),
                None,
                Some(Duration::from_secs(30)),
            )
            .await
            .expect("wait");
        (p, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    f.services
        .create_folder(&f.admin, "/later")
        .await
        .expect("mkdir");
    let (p, took) = waiting.await.expect("join");
    assert_eq!(summary(&p.changes), vec![(ChangeKind::Folder, "/later")]);
    assert!(took < Duration::from_secs(10), "woke after {took:?}");
    // Nothing comes: the wait ends empty at its time.
    let started = std::time::Instant::now();
    let empty = f
        .services
        .changes(
            &f.admin,
            "laptop",
            Some(&p.cursor),
            None,
            Some(Duration::from_secs(1)),
        )
        .await
        .expect("empty");
    assert!(empty.changes.is_empty() && !empty.has_more);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

async fn bad_cursors_and_devices_are_refused(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    let err = |r: crate::service::Result<ChangePage>| r.expect_err("refused").code();
    let ahead = s
        .changes(&f.admin, "laptop", Some("c.99"), None, None)
        .await;
    assert_eq!(err(ahead), Code::CursorExpired);
    let junk = s.changes(&f.admin, "laptop", Some("zz"), None, None).await;
    assert_eq!(err(junk), Code::InvalidInput);
    let zero = s.changes(&f.admin, "laptop", None, Some(0), None).await;
    assert_eq!(err(zero), Code::InvalidValue);
    let unknown = s.changes(&f.admin, "nope", None, None, None).await;
    assert_eq!(err(unknown), Code::NotFound);
}

/// A device's mirror of the tree: each path's kind, version and content.
type Mirror = BTreeMap<String, (ChangeKind, i32, Option<String>)>;

/// Apply `changes` as a client would; a creation over a path holding the other
/// kind (no deletion heard first), or a folder's deletion while the mirror
/// still holds something below it, fails the test.
fn apply(mirror: &mut Mirror, changes: &[Change]) {
    for c in changes {
        if c.kind == ChangeKind::Delete {
            let below = format!("{}/", c.path);
            let left: Vec<&String> = mirror.keys().filter(|p| p.starts_with(&below)).collect();
            assert!(left.is_empty(), "{} deleted before {left:?}", c.path);
            mirror.remove(&c.path);
            continue;
        }
        if let Some((held, ..)) = mirror.get(&c.path) {
            assert_eq!(
                *held, c.kind,
                "{} became a {:?} unannounced",
                c.path, c.kind
            );
        }
        mirror.insert(c.path.clone(), (c.kind, c.version, c.sha256.clone()));
    }
}

async fn compaction_keeps_what_every_cursor_drains_to(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let (s, admin) = (&f.services, &f.admin);
    put(&f, admin, "/a.txt", b"a0").await;
    // Where each device stood: its cursor and its mirror then.
    let (listed, cursor) = drain(&f, None, 100).await;
    let mut mirror = Mirror::new();
    apply(&mut mirror, &listed);
    let mut stops = vec![(cursor, mirror.clone())];
    let saves: [&'static [u8]; 4] = [b"a1", b"a2", b"a3", b"a4"];
    for (step, content) in saves.into_iter().enumerate() {
        put(&f, admin, "/a.txt", content).await;
        match step {
            0 => drop(s.create_folder(admin, "/d").await.expect("mkdir")),
            1 => put(&f, admin, "/d/x.txt", b"x").await,
            2 => s.delete_entry(admin, "/d").await.expect("rm -r"),
            // The folder's path is a file now.
            _ => put(&f, admin, "/d", b"d").await,
        }
        let (changes, cursor) = drain(&f, Some(&stops[stops.len() - 1].0), 3).await;
        apply(&mut mirror, &changes);
        stops.push((cursor, mirror.clone()));
    }
    s.delete_entry(admin, "/a.txt").await.expect("rm");
    put(&f, admin, "/a.txt", b"again").await;
    // And a folder again, where a device at the last stop holds a file.
    s.delete_entry(admin, "/d").await.expect("rm");
    s.create_folder(admin, "/d").await.expect("mkdir");
    // A path deleted with its folder, then made and deleted on its own.
    put(&f, admin, "/d/x.txt", b"x2").await;
    s.delete_entry(admin, "/d/x.txt").await.expect("rm");
    let (now, _) = drain(&f, None, 100).await;
    let mut truth = Mirror::new();
    apply(&mut truth, &now);

    let dropped = s.compact_change_log().await.expect("compact");
    assert!(dropped >= 8, "dropped {dropped}");
    assert_eq!(s.compact_change_log().await.expect("again"), 0);
    for (at, (cursor, mirror)) in stops.iter().enumerate() {
        let mut mirror = mirror.clone();
        let (changes, _) = drain(&f, Some(cursor), 2).await;
        apply(&mut mirror, &changes);
        assert_eq!(mirror, truth, "a device at stop {at}");
    }
    // Each path's newest entry is kept, with every deletion before it.
    let (from_first, _) = drain(&f, Some(&stops[0].0), 100).await;
    let of_a: Vec<ChangeKind> = from_first
        .iter()
        .filter(|c| c.path == "/a.txt")
        .map(|c| c.kind)
        .collect();
    assert_eq!(of_a, vec![ChangeKind::Delete, ChangeKind::File]);
}

on_both!(a_listing_then_every_write_in_commit_order);
on_both!(concurrent_commits_all_appear_once);
on_both!(selective_sync_filters_the_feed);
on_both!(a_waiting_request_wakes_on_a_commit);
on_both!(bad_cursors_and_devices_are_refused);
on_both!(compaction_keeps_what_every_cursor_drains_to);
