//! The tree against a real database: migration 9's backfill of folders and
//! parents from existing files, and folder moves that keep other users' and
//! same-named (other case) folders untouched.
use crate::service::Code;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

use super::{Fixture, fixture};
use crate::service::{
    Caller, Role,
    files::tree::{Entry, parent_of},
};

/// A database migrated up to migration 8, then given files the old way (no
/// folders, no parents), then migrated to the end.
async fn backfill_builds_folders_and_parents(postgres: bool) {
    let dir = tempfile::TempDir::new().expect("temp");
    let (url, scratch) = if postgres {
        let Ok(admin_url) = std::env::var("FERRY_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set FERRY_TEST_DATABASE_URL"
            );
            return;
        };
        let (url, name) = crate::service::db::create_scratch_database(&admin_url, "ferry_mig")
            .await
            .expect("database");
        (url, Some((admin_url, name)))
    } else {
        (
            format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display()),
            None,
        )
    };
    let db = crate::service::db::connect(&url).await.expect("connect");
    Migrator::up(&db, Some(8)).await.expect("up to 8");
    let user = uuid::Uuid::new_v4();
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) \
         VALUES ($1, 'old', 'x', 'user', false, $2, $2)",
        [user.into(), now.into()],
    ))
    .await
    .expect("user");
    let files = [
        ("/top.txt", false),
        ("/a/b/c.txt", false),
        ("/a/d.txt", false),
        ("/Über/ß/x.txt", false),
        ("/gone/x.txt", true),
    ];
    for (path, deleted) in files {
        let deleted_at = deleted.then_some(now);
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO file_metadata (id, user_id, path, size, sha256, version, modified_at, \
             created_at, updated_at, deleted_at) VALUES ($1, $2, $3, 1, 'aa', 1, $4, $4, $4, $5)",
            [
                uuid::Uuid::new_v4().into(),
                user.into(),
                path.into(),
                now.into(),
                deleted_at.into(),
            ],
        ))
        .await
        .expect("file");
    }
    Migrator::up(&db, None).await.expect("up to the end");

    let folders: Vec<(String, String)> = entity::folder::Entity::find()
        .all(&db)
        .await
        .expect("folders")
        .into_iter()
        .map(|f| (f.path, f.parent))
        .collect();
    let mut folders = folders;
    folders.sort();
    let expected: Vec<(String, String)> = ["/a", "/a/b", "/Über", "/Über/ß"]
        .iter()
        .map(|p| (p.to_string(), parent_of(p).to_string()))
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(folders, expected);
    for row in entity::file_metadata::Entity::find()
        .all(&db)
        .await
        .expect("files")
    {
        assert_eq!(
            row.parent.as_deref(),
            Some(parent_of(&row.path)),
            "{}",
            row.path
        );
    }
    drop(db);
    if let Some((admin_url, name)) = scratch {
        crate::service::db::drop_scratch_database(admin_url, name);
    }
}

async fn folder_moves_touch_only_their_subtree(postgres: bool) {
    let Some(f): Option<Fixture> = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    let admin = &f.admin;
    let other = s
        .create_user(None, "other", "other-password", Role::User)
        .await
        .expect("user");
    let other = Caller {
        user_id: other.id,
        username: other.username,
        role: Role::User,
        device: None,
    };
    for caller in [admin, &other] {
        s.create_folder(caller, "/Docs").await.expect("mkdir");
        let mut w = s
            .write_file(caller, "/Docs/a.txt", Some(1))
            .await
            .expect("open");
        w.write(bytes::Bytes::from_static(b"a"))
            .await
            .expect("write");
        w.commit().await.expect("commit");
    }
    s.create_folder(admin, "/docs").await.expect("mkdir lower");
    s.create_folder(admin, "/Docs/sub")
        .await
        .expect("mkdir sub");
    s.move_entry(admin, "/Docs", "/Moved").await.expect("move");

    assert!(s.entry_at(admin, "/Docs").await.expect("stat").is_none());
    assert!(matches!(
        s.entry_at(admin, "/Moved/sub").await.expect("stat"),
        Some(Entry::Folder(_))
    ));
    assert!(matches!(
        s.entry_at(admin, "/Moved/a.txt").await.expect("stat"),
        Some(Entry::File(f)) if f.version == 1
    ));
    assert!(matches!(
        s.entry_at(admin, "/docs").await.expect("stat"),
        Some(Entry::Folder(_))
    ));
    assert!(matches!(
        s.entry_at(&other, "/Docs/a.txt").await.expect("stat"),
        Some(Entry::File(_))
    ));
    let err = s
        .move_entry(admin, "/Moved", "/Moved/sub/inside")
        .await
        .expect_err("into itself");
    assert_eq!(err.code(), Code::InvalidMove);
    let err = s
        .move_entry(admin, "/Moved", "/docs")
        .await
        .expect_err("onto a folder");
    assert_eq!(err.code(), Code::AlreadyExists);
    let names: Vec<String> = s
        .folder_entries(admin, "/")
        .await
        .expect("root")
        .iter()
        .map(|e| e.path().to_owned())
        .collect();
    assert_eq!(names, vec!["/Moved", "/docs"]);
}

on_both!(backfill_builds_folders_and_parents);
on_both!(folder_moves_touch_only_their_subtree);
