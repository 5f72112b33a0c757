//! The current state of one path in a user's tree.
use sea_orm::entity::prelude::*;

/// One row of `file_metadata`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "file_metadata")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// Normalized path (`/Videos/a.mp4`), unique per user.
    pub path: String,
    /// The folder holding it (`/` at the top level).
    pub parent: Option<String>,
    pub size: i64,
    /// Lowercase hex SHA-256 of the content: the blob's address.
    pub sha256: String,
    pub version: i32,
    pub modified_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set when the path was deleted (a tombstone, kept for deletion sync).
    pub deleted_at: Option<DateTimeUtc>,
    /// The `devices.id` that made the latest change, if a device did.
    pub changed_by_device_id: Option<Uuid>,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
