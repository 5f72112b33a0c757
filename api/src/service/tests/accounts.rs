//! Account administration: a password reset ends every session, a deleted user
//! takes their devices, tokens and files with them (nobody else's), nobody
//! removes themself, and the last enabled admin stays.
use super::fixture;
use crate::service::{Code, Role, identity::LoginRequest};

async fn accounts_are_managed_without_touching_anyone_else(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    let alice = s
        .create_user(Some(&f.admin), "alice", "alice-password", Role::User)
        .await
        .expect("alice");
    let bob = s
        .create_user(Some(&f.admin), "bob", "bob-password", Role::User)
        .await
        .expect("bob");
    let alice_token = f.login("alice", "alice-password", Some("laptop")).await;
    let bob_token = f.login("bob", "bob-password", None).await;
    let as_alice = s.authenticate(&alice_token).await.expect("alice");
    let as_bob = s.authenticate(&bob_token).await.expect("bob");
    for (caller, path) in [(&as_alice, "/mine.txt"), (&as_bob, "/bobs.txt")] {
        let mut writer = s.write_file(caller, path, Some(5)).await.expect("writer");
        writer.write("hello".into()).await.expect("write");
        writer.commit().await.expect("commit");
    }

    // Only admins manage accounts.
    for err in [
        s.reset_password(Some(&as_alice), bob.id, "new-password")
            .await
            .expect_err("a user resets nobody"),
        s.delete_user(Some(&as_alice), bob.id)
            .await
            .expect_err("a user deletes nobody"),
        s.set_user_disabled(Some(&as_alice), bob.id, true)
            .await
            .expect_err("a user disables nobody"),
    ] {
        assert_eq!(err.code(), Code::Forbidden, "{err}");
    }

    // A reset: the old password and every token stop working at once.
    s.authenticate(&alice_token).await.expect("cached");
    s.reset_password(Some(&f.admin), alice.id, "fresh-password")
        .await
        .expect("reset");
    assert_eq!(
        s.authenticate(&alice_token)
            .await
            .expect_err("revoked")
            .code(),
        Code::Unauthorized
    );
    let err = s
        .login(LoginRequest {
            username: "alice".into(),
            password: "alice-password".into(),
            device_id: None,
            device_name: None,
            platform: None,
            address: None,
        })
        .await
        .expect_err("old password");
    assert_eq!(err.code(), Code::Unauthorized);
    let alice_token = f.login("alice", "fresh-password", Some("laptop")).await;
    s.authenticate(&alice_token)
        .await
        .expect("new password works");
    let err = s
        .reset_password(Some(&f.admin), alice.id, "short")
        .await
        .expect_err("too short");
    assert_eq!(err.code(), Code::InvalidPassword);

    // Deleting alice: her token, device and files go; bob's stay.
    s.delete_user(Some(&f.admin), alice.id)
        .await
        .expect("delete");
    assert_eq!(
        s.authenticate(&alice_token).await.expect_err("gone").code(),
        Code::Unauthorized
    );
    let names: Vec<String> = s
        .list_users(None)
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert!(!names.contains(&"alice".to_owned()), "{names:?}");
    let devices = s.list_all_devices(&f.admin).await.expect("devices");
    assert!(devices.iter().all(|d| d.user_id != alice.id), "{devices:?}");
    let bobs = s.list_files(&as_bob, None).await.expect("bob's files");
    assert_eq!(
        bobs.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["/bobs.txt"]
    );
    s.authenticate(&bob_token)
        .await
        .expect("bob still signed in");
    let err = s
        .delete_user(Some(&f.admin), alice.id)
        .await
        .expect_err("twice");
    assert_eq!(err.code(), Code::NotFound);

    // Nobody deletes themself; the last enabled admin stays (the operator too).
    let err = s
        .delete_user(Some(&f.admin), f.admin.user_id)
        .await
        .expect_err("self");
    assert_eq!(err.code(), Code::CannotDisableSelf);
    for err in [
        s.delete_user(None, f.admin.user_id)
            .await
            .expect_err("last admin"),
        s.set_user_disabled(None, f.admin.user_id, true)
            .await
            .expect_err("last admin"),
        s.set_user_role(None, &f.admin.username, Role::User)
            .await
            .expect_err("last admin"),
    ] {
        assert_eq!(err.code(), Code::LastAdmin, "{err}");
    }
    assert!(s.has_admin().await.expect("admin"));
    // With a second admin, the operator may demote the first.
    s.set_user_role(None, "bob", Role::Admin)
        .await
        .expect("bob");
    s.set_user_role(None, &f.admin.username, Role::User)
        .await
        .expect("demote");
    assert!(s.has_admin().await.expect("bob is one"));
}

on_both!(accounts_are_managed_without_touching_anyone_else);
