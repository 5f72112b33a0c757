//! One committed version of a file: the history behind `file_metadata.version`.
use sea_orm::entity::prelude::*;

/// One row of `file_versions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "file_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub file_id: Uuid,
    pub version: i32,
    pub size: i64,
    pub sha256: String,
    pub modified_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// The `devices.id` that committed it, if known.
    pub device_id: Option<Uuid>,
    /// The chunked upload that produced it, if any.
    pub upload_id: Option<Uuid>,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
