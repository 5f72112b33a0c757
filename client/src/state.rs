//! The folder's sync state in `DIR/.ferry/state.db` (SQLite): the merge base
//! (what both sides last agreed on, per path), the mirror of the server's tree
//! as the changes feed told it, the feed's cursor, uploads in flight (so a
//! killed client resumes them) and paths held back (reported by `status`).
//! Every change of it is one transaction, so a kill at any moment leaves it
//! consistent.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, Sqlite, Transaction};

use crate::error::{Error, Result};

mod blocks;

/// The folder holding the client's state, inside the synced folder.
pub const STATE_DIR: &str = ".ferry";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS base (path TEXT PRIMARY KEY, kind TEXT NOT NULL,
    version INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT);
CREATE TABLE IF NOT EXISTS remote (path TEXT PRIMARY KEY, kind TEXT NOT NULL,
    version INTEGER NOT NULL, size INTEGER NOT NULL, sha256 TEXT, modified_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (path TEXT PRIMARY KEY, upload_id TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, chunk_size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS held (path TEXT PRIMARY KEY, reason TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (path TEXT NOT NULL, position INTEGER NOT NULL,
    offset INTEGER NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (path, position));
CREATE INDEX IF NOT EXISTS blocks_by_sha ON blocks (sha256);
CREATE TABLE IF NOT EXISTS remote_blocks (path TEXT PRIMARY KEY, version INTEGER NOT NULL,
    blocks TEXT NOT NULL);
";

/// A file or a folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Folder,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Folder => "folder",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "file" => Ok(Self::File),
            "folder" => Ok(Self::Folder),
            other => Err(Error::Setup(format!(
                "unknown kind {other:?} in .ferry/state.db"
            ))),
        }
    }
}

/// What both sides last agreed on for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    pub kind: Kind,
    /// The server's version of the file (folders: 0).
    pub version: i64,
    pub size: u64,
    /// The local file's modification time then, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    pub sha256: Option<String>,
}

/// One path of the server's tree, as the feed last described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub kind: Kind,
    pub version: i64,
    pub size: u64,
    pub sha256: Option<String>,
    /// RFC 3339.
    pub modified_at: String,
}

/// An upload started and not yet finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub upload_id: String,
    pub sha256: String,
    pub size: u64,
    /// The upload's chunk size; [`DELTA`] for a delta upload (chunk `n` is
    /// block `n` of the file's content-defined cut).
    pub chunk_size: u64,
}

/// [`Pending::chunk_size`] of a delta upload.
pub const DELTA: u64 = 0;

/// The state store of one synced folder.
#[derive(Clone, Debug)]
pub struct State {
    pool: SqlitePool,
    dir: PathBuf,
}

fn size_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn db_size(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl State {
    /// Make `root/.ferry/` (mode 0700) and its database.
    pub async fn create(root: &Path) -> Result<Self> {
        let dir = root.join(STATE_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        restrict(&dir, 0o700)?;
        Self::connect(dir, true).await
    }

    /// Open the state of `root`, which `ferry sync init` must have set up.
    pub async fn open(root: &Path) -> Result<Self> {
        let dir = root.join(STATE_DIR);
        if !dir.join("state.db").is_file() {
            return Err(Error::Setup(format!(
                "{} is not set up for syncing: run `ferry sync init {} --server URL --user NAME --device ID --password-stdin` first",
                root.display(),
                root.display()
            )));
        }
        Self::connect(dir, false).await
    }

    async fn connect(dir: PathBuf, create: bool) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("state.db"))
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // Survives a killed process; a power cut may lose the last records,
            // which the next pass re-derives (equal content agrees again).
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(30))
            // A small page cache (512 KiB): the client's peak memory matters more.
            .pragma("cache_size", "-512");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        restrict(&dir.join("state.db"), 0o600)?;
        Ok(Self { pool, dir })
    }

    /// `DIR/.ferry/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A setting, if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.get(0)))
    }

    /// Set a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A setting that `init` wrote.
    pub async fn required(&self, key: &str) -> Result<String> {
        self.setting(key).await?.ok_or_else(|| {
            Error::Setup(format!(
                "{key} is missing from .ferry/state.db: run `ferry sync init` again"
            ))
        })
    }

    /// The merge base of every path.
    pub async fn base(&self) -> Result<HashMap<String, Base>> {
        let sql = "SELECT path, kind, version, size, mtime_ns, sha256 FROM base";
        self.by_path(sql, |row, kind| Base {
            kind,
            version: row.get(2),
            size: size_of(row.get(3)),
            mtime_ns: row.get(4),
            sha256: row.get(5),
        })
        .await
    }

    /// The rows of `sql` (path and kind first) by path, each made by `make`.
    async fn by_path<T>(
        &self,
        sql: &'static str,
        make: impl Fn(&sqlx::sqlite::SqliteRow, Kind) -> T,
    ) -> Result<HashMap<String, T>> {
        use futures_util::TryStreamExt;
        // Row by row: a whole result set in memory costs about a kilobyte a path.
        let mut rows = sqlx::query(sql).fetch(&self.pool);
        let mut out = HashMap::new();
        while let Some(row) = rows.try_next().await? {
            let kind: String = row.get(1);
            let value = make(&row, Kind::parse(&kind)?);
            out.insert(row.get(0), value);
        }
        Ok(out)
    }

    /// Record that both sides agree on `path` (`None`: on its absence).
    pub async fn set_base(&self, path: &str, base: Option<&Base>) -> Result<()> {
        match base {
            Some(b) => {
                sqlx::query(
                    "INSERT INTO base (path, kind, version, size, mtime_ns, sha256) VALUES (?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, version = excluded.version, \
                     size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256",
                )
                .bind(path)
                .bind(b.kind.as_str())
                .bind(b.version)
                .bind(db_size(b.size))
                .bind(b.mtime_ns)
                .bind(&b.sha256)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM base WHERE path = ?")
                    .bind(path)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The server's tree as the feed told it.
    pub async fn remote(&self) -> Result<HashMap<String, Remote>> {
        let sql = "SELECT path, kind, version, size, sha256, modified_at FROM remote";
        self.by_path(sql, |row, kind| Remote {
            kind,
            version: row.get(2),
            size: size_of(row.get(3)),
            sha256: row.get(4),
            modified_at: row.get(5),
        })
        .await
    }

    /// Record what this client itself just did on the server (`None`: deleted
    /// there, with everything below), before the feed reports it.
    pub async fn set_remote(&self, path: &str, remote: Option<&Remote>) -> Result<()> {
        let mut tx = FeedPage(self.pool.begin().await?);
        match remote {
            Some(remote) => tx.put(path, remote).await?,
            None => {
                tx.remove(path).await?;
                sqlx::query("DELETE FROM remote WHERE substr(path, 1, length(?) + 1) = ? || '/'")
                    .bind(path)
                    .bind(path)
                    .execute(&mut *tx.0)
                    .await?;
            }
        }
        tx.0.commit().await?;
        Ok(())
    }

    /// Start applying a page of the feed (commit it with [`FeedPage::commit`]).
    pub async fn feed_page(&self) -> Result<FeedPage<'static>> {
        Ok(FeedPage(self.pool.begin().await?))
    }

    /// The upload in flight for `path`, if any.
    pub async fn pending(&self, path: &str) -> Result<Option<Pending>> {
        Ok(
            sqlx::query("SELECT upload_id, sha256, size, chunk_size FROM uploads WHERE path = ?")
                .bind(path)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| Pending {
                    upload_id: row.get(0),
                    sha256: row.get(1),
                    size: size_of(row.get(2)),
                    chunk_size: size_of(row.get(3)),
                }),
        )
    }

    /// Every upload in flight, by path.
    pub async fn all_pending(&self) -> Result<Vec<(String, Pending)>> {
        let rows = sqlx::query(
            "SELECT path, upload_id, sha256, size, chunk_size FROM uploads ORDER BY path",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let pending = Pending {
                    upload_id: row.get(1),
                    sha256: row.get(2),
                    size: size_of(row.get(3)),
                    chunk_size: size_of(row.get(4)),
                };
                (row.get(0), pending)
            })
            .collect())
    }

    /// Remember (`Some`) or forget (`None`) the upload in flight for `path`.
    pub async fn set_pending(&self, path: &str, pending: Option<&Pending>) -> Result<()> {
        match pending {
            Some(p) => {
                sqlx::query(
                    "INSERT INTO uploads (path, upload_id, sha256, size, chunk_size) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (path) DO UPDATE SET upload_id = excluded.upload_id, \
                     sha256 = excluded.sha256, size = excluded.size, chunk_size = excluded.chunk_size",
                )
                .bind(path)
                .bind(&p.upload_id)
                .bind(&p.sha256)
                .bind(db_size(p.size))
                .bind(db_size(p.chunk_size))
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM uploads WHERE path = ?")
                    .bind(path)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Paths held back, with why and a detail (the version or hash it concerns).
    pub async fn held(&self) -> Result<HashMap<String, (String, String)>> {
        let rows = sqlx::query("SELECT path, reason, detail FROM held")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get(0), (row.get(1), row.get(2))))
            .collect())
    }

    /// Hold `path` back (`Some((reason, detail))`) or release it.
    pub async fn set_held(&self, path: &str, held: Option<(&str, &str)>) -> Result<()> {
        match held {
            Some((reason, detail)) => {
                sqlx::query(
                    "INSERT INTO held (path, reason, detail) VALUES (?, ?, ?) ON CONFLICT (path) \
                     DO UPDATE SET reason = excluded.reason, detail = excluded.detail",
                )
                .bind(path)
                .bind(reason)
                .bind(detail)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM held WHERE path = ?")
                    .bind(path)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Close the database cleanly.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One page of the feed applied to the mirror, with the cursor after it, in
/// one transaction.
#[derive(Debug)]
pub struct FeedPage<'c>(Transaction<'c, Sqlite>);

impl FeedPage<'_> {
    /// Forget the whole mirror (a listing starts again).
    pub async fn clear(&mut self) -> Result<()> {
        sqlx::query("DELETE FROM remote")
            .execute(&mut *self.0)
            .await?;
        sqlx::query("DELETE FROM remote_blocks")
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// `path` is now `remote`.
    pub async fn put(&mut self, path: &str, remote: &Remote) -> Result<()> {
        sqlx::query(
            "INSERT INTO remote (path, kind, version, size, sha256, modified_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, version = excluded.version, \
             size = excluded.size, sha256 = excluded.sha256, modified_at = excluded.modified_at",
        )
        .bind(path)
        .bind(remote.kind.as_str())
        .bind(remote.version)
        .bind(db_size(remote.size))
        .bind(&remote.sha256)
        .bind(&remote.modified_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Nothing is at `path` on the server any more.
    pub async fn remove(&mut self, path: &str) -> Result<()> {
        sqlx::query("DELETE FROM remote WHERE path = ?")
            .bind(path)
            .execute(&mut *self.0)
            .await?;
        sqlx::query("DELETE FROM remote_blocks WHERE path = ?")
            .bind(path)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Keep the cursor after this page, and commit.
    pub async fn commit(mut self, cursor: &str) -> Result<()> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ('cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(cursor)
            .execute(&mut *self.0)
            .await?;
        self.0.commit().await?;
        Ok(())
    }
}

/// Set the Unix mode of `path` (state and token are the owner's only).
pub fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}
