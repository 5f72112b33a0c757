//! One block a delta upload announced: chunk `position` of upload `upload_id`
//! must be `size` bytes whose SHA-256 is `sha256`.
use sea_orm::entity::prelude::*;

/// One row of `upload_blocks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_blocks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub upload_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub sha256: String,
    pub size: i64,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
