//! The audit log: pages both ways, filters by user, action and time, names for
//! targets (a gone user keeps the name the entry recorded), a user sees only their
//! own actions; and a device's `last_seen_at` follows the use of its token.
use chrono::{Duration, Utc};
use entity::device;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::fixture;
use crate::service::{Role, audit::AuditQuery};

async fn the_log_pages_both_ways_and_names_its_targets(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    let carol = s
        .create_user(Some(&f.admin), "carol", "carol-password", Role::User)
        .await
        .expect("carol");
    let bob_info = s
        .create_user(Some(&f.admin), "bob", "bob-password", Role::User)
        .await
        .expect("bob");
    let bob_token = f.login("bob", "bob-password", Some("laptop")).await;
    // The device was last seen long ago: the next use of its token brings it up to date.
    let row = device::Entity::find()
        .filter(device::Column::UserId.eq(bob_info.id))
        .filter(device::Column::DeviceId.eq("laptop"))
        .one(s.db())
        .await
        .expect("query")
        .expect("device");
    let mut stale = row.into_active_model();
    stale.last_seen_at = Set(Some(Utc::now() - Duration::hours(2)));
    stale.update(s.db()).await.expect("stale");
    let bob = s.authenticate(&bob_token).await.expect("bob");
    let seen = device::Entity::find()
        .filter(device::Column::UserId.eq(bob_info.id))
        .filter(device::Column::DeviceId.eq("laptop"))
        .one(s.db())
        .await
        .expect("query")
        .expect("device")
        .last_seen_at
        .expect("seen");
    assert!(Utc::now() - seen < Duration::minutes(1), "{seen}");

    s.rename_device(&bob, None, "laptop", "Work laptop")
        .await
        .expect("rename");
    s.set_user_disabled(Some(&f.admin), carol.id, true)
        .await
        .expect("disable");
    s.delete_user(Some(&f.admin), carol.id)
        .await
        .expect("delete");

    let query = |first| AuditQuery {
        first,
        ..AuditQuery::default()
    };
    let all = s.audit_log(&f.admin, query(100)).await.expect("all");
    let actions: Vec<&str> = all.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.deleted",
            "user.disabled",
            "device.renamed",
            "user.created",
            "user.created",
            "user.created"
        ]
    );
    assert!(!all.has_older && !all.has_newer);
    let names: Vec<Option<&str>> = all
        .records
        .iter()
        .map(|r| r.target_name.as_deref())
        .collect();
    assert_eq!(
        names,
        [
            Some("carol"),
            Some("carol"),
            Some("Work laptop"),
            Some("bob"),
            Some("carol"),
            Some("root")
        ]
    );

    // (The fixture made the admin first.) Two at a time: older, older, then back newer to the start.
    let first = s.audit_log(&f.admin, query(2)).await.expect("page 1");
    assert!(first.has_older && !first.has_newer);
    let second = s
        .audit_log(
            &f.admin,
            AuditQuery {
                older_than: first.records.last().map(|r| r.id),
                ..query(2)
            },
        )
        .await
        .expect("page 2");
    assert!(second.has_older && second.has_newer);
    assert_eq!(second.records[0].action, "device.renamed");
    let back = s
        .audit_log(
            &f.admin,
            AuditQuery {
                newer_than: second.records.first().map(|r| r.id),
                ..query(2)
            },
        )
        .await
        .expect("back");
    let ids = |page: &crate::service::audit::AuditPage| {
        page.records.iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&back), ids(&first));
    assert!(back.has_older && !back.has_newer);

    // Filters: about carol; every user.* action; one exact action; a time range.
    let about_carol = s
        .audit_log(
            &f.admin,
            AuditQuery {
                user: Some(carol.id),
                ..query(100)
            },
        )
        .await
        .expect("carol");
    assert_eq!(about_carol.records.len(), 3);
    let users = s
        .audit_log(
            &f.admin,
            AuditQuery {
                action: Some("user".into()),
                ..query(100)
            },
        )
        .await
        .expect("user.*");
    assert_eq!(users.records.len(), 5);
    let renamed = s
        .audit_log(
            &f.admin,
            AuditQuery {
                action: Some("device.renamed".into()),
                ..query(100)
            },
        )
        .await
        .expect("renamed");
    assert_eq!(renamed.records.len(), 1);
    for (since, until, expected) in [
        (Some(Utc::now() + Duration::hours(1)), None, 0),
        (None, Some(Utc::now() - Duration::hours(1)), 0),
        (
            Some(Utc::now() - Duration::hours(1)),
            Some(Utc::now() + Duration::hours(1)),
            6,
        ),
    ] {
        let page = s
            .audit_log(
                &f.admin,
                AuditQuery {
                    since,
                    until,
                    ..query(100)
                },
            )
            .await
            .expect("range");
        assert_eq!(page.records.len(), expected, "{since:?}..{until:?}");
    }

    // Bob sees his own action only, whatever he filters by.
    let own = s
        .audit_log(
            &bob,
            AuditQuery {
                user: Some(carol.id),
                ..query(100)
            },
        )
        .await
        .expect("bob's");
    assert!(own.records.is_empty());
    let own = s.audit_log(&bob, query(100)).await.expect("bob's");
    assert_eq!(own.records.len(), 1);
    assert_eq!(own.records[0].action, "device.renamed");
}

on_both!(the_log_pages_both_ways_and_names_its_targets);
