//! Block lists in the changes feed: each file change of a page gets the blocks
//! of its content, in order, so a client fetches only the blocks it does not
//! hold. Bounded per entry and per page; a file beyond the bounds goes without
//! (the client downloads it whole).
use std::collections::HashMap;

use entity::content_block;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::service::{Services, error::Result};

/// A file whose content has more blocks than this carries no block list in the
/// feed (the client fetches it whole).
pub const MAX_ENTRY_BLOCKS: usize = 32_768;
/// Block-list entries one page carries at most; later files go without.
pub const MAX_PAGE_BLOCKS: usize = 65_536;
/// Contents whose manifests are read per query.
const MANIFEST_BATCH: usize = 200;

/// One block of a file's content, as the feed lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockRef {
    pub sha256: String,
    pub size: u64,
}

impl Services {
    /// The manifests of `contents`, by content: its blocks in order.
    pub(crate) async fn block_lists(
        &self,
        contents: &[String],
    ) -> Result<HashMap<String, Vec<BlockRef>>> {
        let mut lists: HashMap<String, Vec<BlockRef>> = HashMap::new();
        for batch in contents.chunks(MANIFEST_BATCH) {
            let rows = content_block::Entity::find()
                .filter(content_block::Column::ContentSha256.is_in(batch.iter().cloned()))
                .order_by_asc(content_block::Column::ContentSha256)
                .order_by_asc(content_block::Column::Position)
                .all(self.db())
                .await?;
            for row in rows {
                lists.entry(row.content_sha256).or_default().push(BlockRef {
                    sha256: row.block_sha256,
                    size: size_of(row.size),
                });
            }
        }
        Ok(lists)
    }
}

fn size_of(bytes: i64) -> u64 {
    u64::try_from(bytes).unwrap_or(0)
}
