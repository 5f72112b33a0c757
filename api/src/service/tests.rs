//! Service logic against a real database: SQLite in a temp dir, and PostgreSQL
//! (a fresh database per test) when `FERRY_TEST_DATABASE_URL` is set.
use crate::service::Code;
use chrono::Duration;
use tempfile::TempDir;

use super::{
    Caller, Clock, Options, Role, Services, UploadLimits, files::NewVersion,
    identity::login_guard::Budget, metrics::Metrics, uploads::StartUpload,
};

const MIB: u64 = 1 << 20;

/// The services' options with the server's defaults, over `data_dir`.
fn options(data_dir: &std::path::Path) -> Options {
    let budget = |burst, secs| Budget {
        burst,
        refill: std::time::Duration::from_secs(secs),
    };
    Options {
        data_dir: data_dir.to_owned(),
        limits: UploadLimits {
            default_chunk_size: 5 * MIB,
            max_chunk_size: 100 * MIB,
            max_file_size: 1 << 40,
            cleanup_days: 7,
            max_concurrent_uploads: 100,
            min_free_space: 64 * MIB,
            token_ttl_days: 30,
            chunk_idle_timeout: std::time::Duration::from_secs(60),
        },
        hash_concurrency: 2,
        login_failures_per_address: budget(10, 6),
        login_failures_per_user: budget(20, 3),
        debug_pause_at: None,
        collection: super::files::collector::Collection {
            retention: Default::default(),
            grace: std::time::Duration::ZERO,
        },
        object_storage: None,
    }
}

/// Services over the database at `url` (migrated) and `options`.
async fn open(url: &str, options: Options) -> Services {
    let db = super::db::connect_and_migrate(url).await.expect("database");
    Services::new(db, options, Clock::system(), Metrics::default())
        .await
        .expect("services")
}

/// A service over a fresh database; dropping it drops the PostgreSQL database.
struct Fixture {
    services: Services,
    admin: Caller,
    database_url: String,
    options: Options,
    _dir: TempDir,
    pg: Option<(String, String)>,
}

impl Fixture {
    /// A new user `name` (role user) with a device named `laptop`, signed in.
    async fn user(&self, name: &str) -> Caller {
        let info = self
            .services
            .create_user(Some(&self.admin), name, "user-password", Role::User)
            .await
            .expect("user");
        self.services
            .register_device(info.id, "laptop", None, None)
            .await
            .expect("device");
        Caller {
            user_id: info.id,
            username: info.username,
            role: Role::User,
            device: None,
        }
    }

    /// Logs `username` in (with `device`, when given) and returns the bearer token.
    async fn login(&self, username: &str, password: &str, device: Option<&str>) -> String {
        self.services
            .login(super::identity::LoginRequest {
                username: username.into(),
                password: password.into(),
                device_id: device.map(str::to_owned),
                device_name: None,
                platform: None,
                address: None,
            })
            .await
            .expect("login")
            .token
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            super::db::drop_scratch_database(admin_url, name);
        }
    }
}

async fn fixture(postgres: bool) -> Option<Fixture> {
    let dir = TempDir::new().expect("temp dir");
    let options = options(dir.path());
    let mut database_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ferry.db").display()
    );
    let mut pg = None;
    if postgres {
        let Ok(admin_url) = std::env::var("FERRY_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set FERRY_TEST_DATABASE_URL"
            );
            return None;
        };
        let (url, name) = super::db::create_scratch_database(&admin_url, "ferry_svc")
            .await
            .expect("create database");
        database_url = url;
        pg = Some((admin_url, name));
    }
    let services = open(&database_url, options.clone()).await;
    let info = services
        .create_user(None, "root", "root-password", Role::Admin)
        .await
        .expect("user");
    let admin = Caller {
        user_id: info.id,
        username: info.username,
        role: Role::Admin,
        device: None,
    };
    services
        .register_device(admin.user_id, "laptop", None, None)
        .await
        .expect("device");
    Some(Fixture {
        services,
        admin,
        database_url,
        options,
        _dir: dir,
        pg,
    })
}

async fn concurrent_commits_to_one_new_path_get_distinct_versions(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let sha = "a".repeat(64);
    let commits = (0..6).map(|_| {
        let services = f.services.clone();
        let (user_id, sha) = (f.admin.user_id, sha.clone());
        tokio::spawn(async move {
            let now = services.clock().now();
            for attempt in 0.. {
                let txn = sea_orm::TransactionTrait::begin(services.db())
                    .await
                    .expect("begin");
                let new = NewVersion {
                    user_id,
                    path: "/same.txt",
                    sha256: &sha,
                    size: 1,
                    modified_at: now,
                    device_id: None,
                    upload_id: None,
                };
                match services.commit_version(&txn, new).await {
                    Ok((_, info)) => {
                        txn.commit().await.expect("commit");
                        return info.version;
                    }
                    // The losing first insert of a new path retries, as assembly does.
                    Err(_) if attempt < 3 => continue,
                    Err(err) => panic!("commit failed: {err}"),
                }
            }
            unreachable!()
        })
    });
    let mut versions: Vec<i32> = futures_util::future::join_all(commits)
        .await
        .into_iter()
        .map(|v| v.expect("task"))
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
}

async fn recovery_removes_orphans_and_expiry_follows_the_clock(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let start = |path: &str| StartUpload {
        device_id: "laptop".into(),
        file_path: path.into(),
        file_name: path.trim_start_matches('/').into(),
        total_size: 10,
        ..Default::default()
    };
    let kept = f
        .services
        .start_upload(&f.admin, start("/kept.txt"))
        .await
        .expect("start");
    let cancelled = f
        .services
        .start_upload(&f.admin, start("/gone.txt"))
        .await
        .expect("start");
    f.services
        .cancel_upload(&f.admin, cancelled.upload_id)
        .await
        .expect("cancel");
    let staging = f._dir.path().join("staging");
    // Leftovers of a crash: a part file no upload owns, and a stray temp file.
    std::fs::write(staging.join(format!("{}.part", uuid::Uuid::new_v4())), b"x").expect("write");
    std::fs::write(staging.join("junk.tmp"), b"x").expect("write");
    assert_eq!(f.services.recover_uploads().await.expect("recover"), 0);
    assert!(std::fs::read_dir(&staging).expect("dir").next().is_none());

    assert_eq!(f.services.expire_idle_uploads().await.expect("expire"), 0);
    f.services
        .clock()
        .advance(Duration::days(7) + Duration::seconds(1));
    assert_eq!(f.services.expire_idle_uploads().await.expect("expire"), 1);
    let err = f
        .services
        .upload_progress(&f.admin, kept.upload_id)
        .await
        .expect_err("expired");
    assert_eq!(err.code(), Code::UploadExpired);
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(false).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(true).await;
            }
        }
    };
}

mod access;
mod accounts;
mod audit;
mod blocks;
mod changes;
mod dav_locks;
mod delta;
mod engines;
mod inputs;
mod locking;
mod schedule_lists;
mod sync;
mod tree;
mod versions;

on_both!(concurrent_commits_to_one_new_path_get_distinct_versions);
on_both!(recovery_removes_orphans_and_expiry_follows_the_clock);

#[tokio::test]
async fn metrics_are_per_server() {
    let a = Metrics::default();
    let b = Metrics::default();
    a.uploads_started.inc();
    assert!(b.render().contains("ferry_uploads_started_total 0"));
}
