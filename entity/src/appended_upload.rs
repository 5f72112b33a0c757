//! An upload that grows by offset (tus): the part its chunked upload row lacks.
use sea_orm::entity::prelude::*;

/// One row of `appended_uploads`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appended_uploads")]
pub struct Model {
    /// The `chunked_uploads.id` it belongs to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub upload_id: Uuid,
    /// The length is still to come (until then `total_size` is 0).
    pub length_deferred: bool,
    /// A part of a later concatenation: complete, it commits no file.
    pub partial: bool,
    /// A final upload's parts, as a JSON array of upload ids.
    pub parts: Option<String>,
    /// The client's metadata, as it sent it.
    pub metadata: Option<String>,
    pub created_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
