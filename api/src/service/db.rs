//! Connecting to SQLite (WAL) or PostgreSQL and running the migrations.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::service::error::Result;

/// Open the database at `url` and bring its schema up to date.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Open the database at `url` (no migrations).
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let is_sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if is_sqlite { 8 } else { 16 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // A connection in use within the last 30 s is not pinged before it is
        // handed out again: for SQLite each ping is a round trip to the
        // connection's worker thread, as dear as the query it precedes.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if is_sqlite {
        // WAL lets readers run beside the writer; NORMAL sync is durable at each
        // checkpoint and safe against corruption; waiting beats failing when busy.
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    Ok(Database::connect(options).await?)
}

/// Create a fresh, uniquely named PostgreSQL database next to `admin_url` (a URL
/// whose user may create databases); returns its URL and name. For tests and tools.
pub async fn create_scratch_database(admin_url: &str, prefix: &str) -> Result<(String, String)> {
    use sea_orm::ConnectionTrait;
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let admin = connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok((format!("{base}/{name}"), name))
}

/// Drop a database made by [`create_scratch_database`], from a thread of its own
/// (callable from `Drop`, whether or not a runtime is still running).
pub fn drop_scratch_database(admin_url: String, name: String) {
    use sea_orm::ConnectionTrait;
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let admin = connect(&admin_url).await.ok()?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .ok()
        })
    })
    .join();
}

impl crate::service::Services {
    /// A transaction that will write. On SQLite it takes the write lock at
    /// `BEGIN` (`IMMEDIATE`), waiting for it like any other statement: a deferred
    /// transaction that reads and then writes fails at once with `database is
    /// locked` when another connection holds the lock at that moment (SQLite
    /// cannot wait there without risking a deadlock), as the engine's
    /// once-a-second claim does.
    pub(crate) async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction> {
        use sea_orm::{
            DatabaseBackend, SqliteTransactionMode, TransactionOptions, TransactionTrait,
        };
        if self.db().get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(self.db().begin().await?);
        }
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db().begin_with_options(options).await?)
    }

    /// A transaction that changes `user_id`'s tree: it locks that user's row
    /// first, so such transactions of one user run one after another on
    /// PostgreSQL too (a folder and a file can never both be created at one
    /// path, nor a file slip into a folder being deleted); on SQLite the same
    /// write takes the database's write lock before anything is read, so no
    /// read can go stale and no later write fails with `database is locked`.
    pub(crate) async fn begin_tree_write(
        &self,
        user_id: uuid::Uuid,
    ) -> Result<sea_orm::DatabaseTransaction> {
        use entity::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let txn = self.begin_write().await?;
        user::Entity::update_many()
            .col_expr(user::Column::UpdatedAt, Expr::col(user::Column::UpdatedAt))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        Ok(txn)
    }
}
