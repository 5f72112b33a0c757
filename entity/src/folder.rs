//! A folder of a user's tree: a WebDAV collection, kept even when empty.
use sea_orm::entity::prelude::*;

/// One row of `folders`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "folders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Normalized path (`/Videos`); the root `/` has no row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub path: String,
    /// The folder holding it (`/` for a top-level folder).
    pub parent: String,
    pub created_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
