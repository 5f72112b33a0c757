//! WebDAV locks in the database: a lock conflicts across services sharing one
//! database (as nodes do), a user holds at most the cap, grants expire and are
//! swept, refresh extends, and deleting a path drops the locks below it.
use std::time::Duration;

use super::{fixture, open};
use crate::service::files::dav_locks::{LockRefusal, LockRequest};

fn request(path: &str, shared: bool, timeout: Duration) -> LockRequest {
    LockRequest {
        path: path.into(),
        url: path.into(),
        principal: Some("alice".into()),
        owner: Some("<D:owner xmlns:D=\"DAV:\">alice</D:owner>".into()),
        timeout,
        shared,
        deep: false,
    }
}

async fn locks_are_shared_capped_and_expire(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let alice = f.user("alice").await;
    // A second set of services on the same database: another node.
    let other = open(&f.database_url, f.options.clone()).await;
    let minute = Duration::from_secs(60);

    let held = f
        .services
        .dav_lock(&alice, request("/doc.txt", false, minute), 2)
        .await
        .expect("lock")
        .expect("granted");
    assert!(held.token.starts_with("urn:uuid:"));
    let refused = other
        .dav_lock(&alice, request("/doc.txt", true, minute), 2)
        .await
        .expect("lock");
    assert!(matches!(refused, Err(LockRefusal::Conflict(ref l)) if l.token == held.token));
    let blocking = other
        .dav_check(&alice, "/doc.txt", false, None, true, &[])
        .await
        .expect("check");
    assert_eq!(blocking.map(|l| l.token), Some(held.token.clone()));
    let with_token = other
        .dav_check(
            &alice,
            "/doc.txt",
            false,
            None,
            true,
            std::slice::from_ref(&held.token),
        )
        .await
        .expect("check");
    assert_eq!(with_token, None);

    // The cap counts live locks; another user's table is their own.
    other
        .dav_lock(&alice, request("/b", false, Duration::from_secs(1)), 2)
        .await
        .expect("lock")
        .expect("second");
    assert!(matches!(
        f.services
            .dav_lock(&alice, request("/c", false, minute), 2)
            .await
            .expect("lock"),
        Err(LockRefusal::Full)
    ));
    let bob = f.user("bob").await;
    f.services
        .dav_lock(&bob, request("/doc.txt", false, minute), 2)
        .await
        .expect("lock")
        .expect("bob's own tree");

    // An expired grant is swept before the next use.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    f.services
        .dav_lock(&alice, request("/c", false, minute), 2)
        .await
        .expect("lock")
        .expect("room again");

    // Refresh extends; unlock and delete release.
    let refreshed = other
        .dav_refresh(&alice, "/doc.txt", &held.token, Duration::from_secs(120))
        .await
        .expect("refresh")
        .expect("found");
    assert!(refreshed.expires_at > held.expires_at);
    assert!(
        f.services
            .dav_unlock(&alice, "/doc.txt", &held.token)
            .await
            .expect("unlock")
    );
    assert!(
        !other
            .dav_unlock(&alice, "/doc.txt", &held.token)
            .await
            .expect("unlock")
    );
    f.services
        .dav_forget_locks(&alice, "")
        .await
        .expect("delete");
    assert!(other.dav_locks(&alice).await.expect("list").is_empty());
}

on_both!(locks_are_shared_capped_and_expire);
