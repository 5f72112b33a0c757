//! SQLite's write lock: a write transaction that meets another connection's
//! lock waits for it, even when it reads before it writes (a deferred
//! transaction would fail at its first write with `database is locked`).
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend};

use super::fixture;
use crate::service::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_transaction_waits_for_another_connections_write_lock() {
    let Some(f) = fixture(false).await else {
        return;
    };
    assert_eq!(
        f.services.db().get_database_backend(),
        DatabaseBackend::Sqlite
    );
    // Another connection holds the write lock, as the engine's claim does each second.
    let holder = f.services.begin_write().await.expect("lock");
    holder
        .execute_unprepared("UPDATE users SET updated_at = updated_at WHERE 1 = 0")
        .await
        .expect("hold");
    let services = f.services.clone();
    let admin = f.admin.clone();
    let create = tokio::spawn(async move {
        services
            .create_user(Some(&admin), "waiting", "waiting-password", Role::User)
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!create.is_finished(), "the create must wait for the lock");
    holder.commit().await.expect("release");
    let created = create
        .await
        .expect("task")
        .expect("created once the lock is free");
    assert_eq!(created.username, "waiting");
}
