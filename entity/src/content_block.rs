//! One block of a content's manifest: position `position` of the content named
//! `content_sha256` is the block `block_sha256` of `size` bytes.
use sea_orm::entity::prelude::*;

/// One row of `content_blocks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "content_blocks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub content_sha256: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub block_sha256: String,
    pub size: i64,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
