//! One change to a user's tree, in the order the changes feed serves them.
use sea_orm::entity::prelude::*;

/// One row of `tree_changes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tree_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The user's change sequence number: commit order, never reused.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub path: String,
    pub kind: crate::enums::ChangeKind,
    /// The file's version (a deletion: the version deleted; a folder: 0).
    pub version: i32,
    pub size: i64,
    /// Lowercase hex SHA-256 of a file's content.
    pub sha256: Option<String>,
    pub modified_at: DateTimeUtc,
    /// The `devices.id` that made the change, if a device did.
    pub device_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
