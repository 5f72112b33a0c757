//! Which blocks this folder holds, and the server's block lists.
//!
//! `blocks` lists, for each path, the blocks of the content it was last synced
//! with (as downloaded, or as cut for an upload): a download looks a block up
//! here and reads it from the local file, checking its hash first, so a stale
//! row only costs a fetch. `remote_blocks` keeps the block list the feed gave
//! for a path's server version.
use sqlx::Row;

use super::{FeedPage, State, db_size, size_of};
use crate::blocks::Block;
use crate::error::Result;

/// Local copies of one block looked at, at most.
const HOLDERS: i64 = 4;

impl State {
    /// `path` now holds `blocks` (replacing what it held).
    pub async fn set_blocks(&self, path: &str, blocks: &[Block]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM blocks WHERE path = ?")
            .bind(path)
            .execute(&mut *tx)
            .await?;
        for (position, block) in blocks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO blocks (path, position, offset, size, sha256) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(path)
            .bind(position as i64)
            .bind(db_size(block.offset))
            .bind(db_size(block.size))
            .bind(&block.sha256)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Local files said to hold block `sha256` of `size` bytes: `(path, offset)`.
    pub async fn holders(&self, sha256: &str, size: u64) -> Result<Vec<(String, u64)>> {
        let rows =
            sqlx::query("SELECT path, offset FROM blocks WHERE sha256 = ? AND size = ? LIMIT ?")
                .bind(sha256)
                .bind(db_size(size))
                .bind(HOLDERS)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get(0), size_of(row.get(1))))
            .collect())
    }

    /// The server's block list of `path` at `version`, if the feed gave one.
    pub async fn remote_blocks(&self, path: &str, version: i64) -> Result<Option<Vec<Block>>> {
        let row = sqlx::query("SELECT blocks FROM remote_blocks WHERE path = ? AND version = ?")
            .bind(path)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text: String = row.get(0);
        let listed: Vec<(String, u64)> = serde_json::from_str(&text).unwrap_or_default();
        Ok((!listed.is_empty()).then(|| crate::blocks::placed(&listed)))
    }
}

impl FeedPage<'_> {
    /// The server's block list of `path` at `version` (`None`: it gave none).
    pub async fn put_blocks(
        &mut self,
        path: &str,
        version: i64,
        blocks: Option<&[(String, u64)]>,
    ) -> Result<()> {
        match blocks {
            Some(blocks) => {
                let text = serde_json::to_string(blocks).unwrap_or_default();
                sqlx::query(
                    "INSERT INTO remote_blocks (path, version, blocks) VALUES (?, ?, ?) \
                     ON CONFLICT (path) DO UPDATE SET version = excluded.version, blocks = excluded.blocks",
                )
                .bind(path)
                .bind(version)
                .bind(text)
                .execute(&mut *self.0)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM remote_blocks WHERE path = ?")
                    .bind(path)
                    .execute(&mut *self.0)
                    .await?;
            }
        }
        Ok(())
    }
}
