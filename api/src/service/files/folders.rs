//! A user's folders as one list, for pickers such as the selective-sync tree.
use entity::folder;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services};

/// The most folders one listing returns.
pub const MAX_FOLDERS: u64 = 10_000;

impl Services {
    /// The paths of `owner`'s folders (default the caller; admins may name
    /// anyone), by path, at most [`MAX_FOLDERS`] of them; the root is not listed.
    pub async fn folder_paths(&self, caller: &Caller, owner: Option<Uuid>) -> Result<Vec<String>> {
        let owner = owner.unwrap_or(caller.user_id);
        if !caller.can_access(owner) {
            return Err(Error::not_found("user"));
        }
        let mut paths: Vec<String> = folder::Entity::find()
            .select_only()
            .column(folder::Column::Path)
            .filter(folder::Column::UserId.eq(owner))
            .order_by_asc(folder::Column::Path)
            .limit(MAX_FOLDERS)
            .into_tuple()
            .all(self.db())
            .await?;
        // Byte order, whatever the database's collation.
        paths.sort();
        Ok(paths)
    }
}
