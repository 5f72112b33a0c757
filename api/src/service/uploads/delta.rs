//! Delta uploads: a client may announce its file as a list of blocks
//! (`blocks: [{sha256, size}]` in `upload/start`), learn which of them the server
//! still needs, and send only those; chunk `n` is block `n` of the list.
//!
//! The answer is per user: a block counts as present only when one of the
//! caller's own file versions holds it, so nobody learns what anyone else has
//! stored. Storage is shared all the same: a block sent by a second user is
//! checked and then found in the store, not written twice.
use std::collections::HashSet;

use entity::{content_block, file_metadata, file_version, upload_block, upload_chunk};
use sea_orm::{
    ConnectionTrait, EntityTrait, Set,
    sea_query::{Expr, ExprTrait, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Code, Services, UploadLimits, uploads::parse_sha256};

/// Most blocks one start may announce (about 3 MB of JSON; at FastCDC's largest
/// average of 4 MiB that is a 128 GiB file).
pub const MAX_ANNOUNCED_BLOCKS: usize = 32_768;
/// Hashes looked up per query.
const LOOKUP_BATCH: usize = 500;
/// Rows per insert statement.
const INSERT_BATCH: usize = 1_000;

/// One block as a client announces it.
#[derive(Clone, Debug, Deserialize)]
pub struct AnnouncedBlock {
    pub sha256: String,
    pub size: i64,
}

/// A checked block list: `(sha256, size)` in order.
#[derive(Clone, Debug)]
pub(crate) struct BlockList {
    pub blocks: Vec<(String, i64)>,
    /// The largest block (the upload's `chunk_size`).
    pub largest: u64,
}

/// Check an announced list against `total_size` and the limits.
pub(crate) fn check_blocks(
    limits: &UploadLimits,
    total_size: u64,
    announced: &[AnnouncedBlock],
) -> Result<BlockList> {
    let invalid = |message: String| Error::new(Code::InvalidBlockList, message);
    if announced.is_empty() {
        return Err(invalid(
            "blocks must list at least one block (leave it out for an empty file)".into(),
        ));
    }
    if announced.len() > MAX_ANNOUNCED_BLOCKS {
        return Err(invalid(format!(
            "at most {MAX_ANNOUNCED_BLOCKS} blocks; send larger blocks or a plain upload"
        )));
    }
    let mut blocks = Vec::with_capacity(announced.len());
    let (mut sum, mut largest) = (0u64, 0u64);
    for (n, block) in announced.iter().enumerate() {
        let sha = parse_sha256(&block.sha256, Code::InvalidBlockList)
            .map_err(|_| invalid(format!("block {n}: sha256 must be 64 hex digits")))?;
        let size = u64::try_from(block.size)
            .ok()
            .filter(|s| (1..=limits.max_chunk_size).contains(s))
            .ok_or_else(|| {
                invalid(format!(
                    "block {n}: size must be between 1 and {} bytes",
                    limits.max_chunk_size
                ))
            })?;
        sum = sum.saturating_add(size);
        largest = std::cmp::max(largest, size);
        blocks.push((sha, block.size));
    }
    if sum != total_size {
        return Err(invalid(format!(
            "the blocks add up to {sum} bytes, not total_size {total_size}"
        )));
    }
    Ok(BlockList { blocks, largest })
}

impl Services {
    /// Which of `wanted` the user holds: blocks of some version of one of their
    /// files, present in the store.
    pub(crate) async fn blocks_held(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        wanted: &HashSet<&str>,
    ) -> Result<HashSet<String>> {
        let wanted: Vec<&str> = wanted.iter().copied().collect();
        let mut held = HashSet::new();
        for batch in wanted.chunks(LOOKUP_BATCH) {
            let query = Query::select()
                .distinct()
                .column((content_block::Entity, content_block::Column::BlockSha256))
                .from(content_block::Entity)
                .inner_join(
                    file_version::Entity,
                    Expr::col((file_version::Entity, file_version::Column::Sha256))
                        .equals((content_block::Entity, content_block::Column::ContentSha256)),
                )
                .inner_join(
                    file_metadata::Entity,
                    Expr::col((file_metadata::Entity, file_metadata::Column::Id))
                        .equals((file_version::Entity, file_version::Column::FileId)),
                )
                .and_where(
                    Expr::col((file_metadata::Entity, file_metadata::Column::UserId)).eq(user_id),
                )
                .and_where(
                    Expr::col((content_block::Entity, content_block::Column::BlockSha256))
                        .is_in(batch.iter().copied()),
                )
                .to_owned();
            let rows = conn.query_all(&query).await?;
            for row in rows {
                let sha: String = row.try_get_by_index(0)?;
                held.insert(sha);
            }
        }
        let mut present = HashSet::with_capacity(held.len());
        for sha in held {
            if self.inner.blocks.contains(&sha).await? {
                present.insert(sha);
            }
        }
        Ok(present)
    }

    /// Record an announced list for `upload_id` and a stored chunk for every
    /// block the user holds already. Returns the chunks and bytes so recorded.
    pub(crate) async fn record_announced(
        &self,
        conn: &impl ConnectionTrait,
        upload_id: Uuid,
        list: &BlockList,
        held: &HashSet<String>,
    ) -> Result<(i32, i64)> {
        let now = self.clock().now();
        let rows: Vec<upload_block::ActiveModel> = list
            .blocks
            .iter()
            .zip(0i32..)
            .map(|((sha, size), position)| upload_block::ActiveModel {
                upload_id: Set(upload_id),
                position: Set(position),
                sha256: Set(sha.clone()),
                size: Set(*size),
            })
            .collect();
        for batch in rows.chunks(INSERT_BATCH) {
            upload_block::Entity::insert_many(batch.to_vec())
                .exec(conn)
                .await?;
        }
        let present: Vec<upload_chunk::ActiveModel> = list
            .blocks
            .iter()
            .zip(0i32..)
            .filter(|((sha, _), _)| held.contains(sha))
            .map(|((sha, size), position)| upload_chunk::ActiveModel {
                upload_id: Set(upload_id),
                chunk_number: Set(position),
                size: Set(*size),
                sha256: Set(sha.clone()),
                created_at: Set(now),
            })
            .collect();
        let (count, bytes) = present.iter().fold((0i32, 0i64), |(c, b), row| {
            (c + 1, b + row.size.clone().unwrap())
        });
        for batch in present.chunks(INSERT_BATCH) {
            upload_chunk::Entity::insert_many(batch.to_vec())
                .exec(conn)
                .await?;
        }
        Ok((count, bytes))
    }

    /// The announced block at `position` of an upload: `(sha256, size)`.
    pub(crate) async fn announced_block(
        &self,
        upload_id: Uuid,
        position: i32,
    ) -> Result<(String, i64)> {
        upload_block::Entity::find_by_id((upload_id, position))
            .one(self.db())
            .await?
            .map(|b| (b.sha256, b.size))
            .ok_or_else(|| Error::internal("an announced block is missing"))
    }

    /// Other positions of the same upload announcing block `sha256` that are not
    /// stored yet: one received block completes them all.
    pub(crate) async fn repeats_of(
        &self,
        conn: &impl ConnectionTrait,
        upload_id: Uuid,
        sha256: &str,
        except: i32,
    ) -> Result<Vec<i32>> {
        use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
        let positions: Vec<i32> = upload_block::Entity::find()
            .select_only()
            .column(upload_block::Column::Position)
            .filter(upload_block::Column::UploadId.eq(upload_id))
            .filter(upload_block::Column::Sha256.eq(sha256))
            .filter(upload_block::Column::Position.ne(except))
            .into_tuple()
            .all(conn)
            .await?;
        if positions.is_empty() {
            return Ok(positions);
        }
        let mut stored: HashSet<i32> = HashSet::new();
        for batch in positions.chunks(LOOKUP_BATCH) {
            let found: Vec<i32> = upload_chunk::Entity::find()
                .select_only()
                .column(upload_chunk::Column::ChunkNumber)
                .filter(upload_chunk::Column::UploadId.eq(upload_id))
                .filter(upload_chunk::Column::ChunkNumber.is_in(batch.iter().copied()))
                .into_tuple()
                .all(conn)
                .await?;
            stored.extend(found);
        }
        Ok(positions
            .into_iter()
            .filter(|p| !stored.contains(p))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> UploadLimits {
        UploadLimits {
            default_chunk_size: 100,
            max_chunk_size: 100,
            max_file_size: 1 << 30,
            cleanup_days: 1,
            max_concurrent_uploads: 1,
            min_free_space: 0,
            token_ttl_days: 1,
            chunk_idle_timeout: std::time::Duration::from_secs(1),
        }
    }

    fn block(size: i64) -> AnnouncedBlock {
        AnnouncedBlock {
            sha256: "ab".repeat(32),
            size,
        }
    }

    #[test]
    fn a_list_must_add_up_and_stay_in_bounds() {
        let ok = check_blocks(&limits(), 150, &[block(100), block(50)]).expect("valid");
        assert_eq!(ok.largest, 100);
        assert_eq!(ok.blocks.len(), 2);
        for (total, list) in [
            (150, vec![block(100), block(49)]),
            (0, vec![]),
            (101, vec![block(101)]),
            (0, vec![block(0)]),
            (10, vec![block(-1), block(11)]),
        ] {
            let err = check_blocks(&limits(), total, &list).expect_err("invalid");
            assert_eq!(err.code(), Code::InvalidBlockList, "{list:?}");
        }
        let bad_hash = AnnouncedBlock {
            sha256: "xyz".into(),
            size: 1,
        };
        assert!(check_blocks(&limits(), 1, &[bad_hash]).is_err());
        let too_many = vec![block(1); MAX_ANNOUNCED_BLOCKS + 1];
        assert!(check_blocks(&limits(), too_many.len() as u64, &too_many).is_err());
    }
}
