//! The request path's shortcuts hold: a token answered from the cache is refused
//! on the very next call once it is revoked, its user disabled or demoted, or
//! its device removed; and a row holding a value no enum knows fails loudly.
use sea_orm::{ConnectionTrait, Statement};

use super::fixture;
use crate::service::{Code, Role};

async fn the_cache_never_outlives_an_access_change(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let alice = f
        .services
        .create_user(Some(&f.admin), "alice", "alice-password", Role::Admin)
        .await
        .expect("alice");
    let refused = |result: crate::service::Result<crate::service::Caller>| {
        assert_eq!(result.expect_err("refused").code(), Code::Unauthorized);
    };

    // Revoked: the first call fills the cache, the next one after revoking fails.
    let token = f.login("alice", "alice-password", None).await;
    let caller = f.services.authenticate(&token).await.expect("fresh");
    assert_eq!(caller.role, Role::Admin);
    f.services.authenticate(&token).await.expect("cached");
    f.services.revoke_bearer(&token).await.expect("logout");
    refused(f.services.authenticate(&token).await);

    // Demoted: the next call sees the new role.
    let token = f.login("alice", "alice-password", None).await;
    f.services.authenticate(&token).await.expect("cached");
    f.services
        .set_user_role(Some(&f.admin), "alice", Role::User)
        .await
        .expect("demote");
    let caller = f.services.authenticate(&token).await.expect("still valid");
    assert_eq!(caller.role, Role::User);

    // Disabled: refused at once.
    f.services.authenticate(&token).await.expect("cached");
    f.services
        .set_user_disabled(Some(&f.admin), alice.id, true)
        .await
        .expect("disable");
    refused(f.services.authenticate(&token).await);
    f.services
        .set_user_disabled(Some(&f.admin), alice.id, false)
        .await
        .expect("enable");

    // Device removed: its bound token goes with it.
    let token = f.login("alice", "alice-password", Some("phone")).await;
    let caller = f.services.authenticate(&token).await.expect("bound");
    assert_eq!(caller.device.as_ref().map(|d| d.1.as_str()), Some("phone"));
    f.services
        .remove_device(&f.admin, Some(alice.id), "phone")
        .await
        .expect("remove");
    refused(f.services.authenticate(&token).await);
}

async fn an_unknown_enum_value_in_a_row_fails_loudly(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let token = f.login("root", "root-password", None).await;
    let db = f.services.db();
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_string(
        backend,
        "UPDATE users SET role = 'superuser' WHERE username = 'root'".to_owned(),
    ))
    .await
    .expect("corrupt the row");
    let err = f
        .services
        .authenticate(&token)
        .await
        .expect_err("no silent default");
    assert_eq!(err.code(), Code::Internal);
    assert!(err.to_string().contains("superuser"), "{err}");
    let err = f.services.list_users(None).await.expect_err("listing too");
    assert_eq!(err.code(), Code::Internal);
}

on_both!(the_cache_never_outlives_an_access_change);
on_both!(an_unknown_enum_value_in_a_row_fails_loudly);
