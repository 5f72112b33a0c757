//! A resumable upload in progress (or finished): the seed's `ChunkedUpload`.
use sea_orm::entity::prelude::*;

/// One row of `chunked_uploads`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chunked_uploads")]
pub struct Model {
    /// The `upload_id` clients see.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The `devices.id` that started it.
    pub device_id: Uuid,
    /// The file this upload commits to, once known (set at start when the path exists).
    pub file_metadata_id: Option<Uuid>,
    pub file_path: String,
    pub file_name: String,
    pub total_size: i64,
    pub chunk_size: i64,
    pub total_chunks: i32,
    pub uploaded_bytes: i64,
    pub completed_chunks: i32,
    /// Expected whole-file SHA-256 (lowercase hex), checked at assembly.
    pub file_hash: Option<String>,
    pub modified_at: Option<DateTimeUtc>,
    pub base_version: Option<i32>,
    /// SHA-256 of the resume token handed to the client.
    pub resume_token_hash: String,
    /// `active`, `paused`, `assembling`, `completed`, `failed`, `cancelled`, `expired`.
    pub status: crate::enums::UploadStatus,
    pub error_code: Option<String>,
    pub result_version: Option<i32>,
    pub result_sha256: Option<String>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    /// Where the upload was committed: `file_path`, or a conflict copy's path.
    pub result_path: Option<String>,
    /// How a `base_version` conflict was resolved (JSON), if there was one.
    pub conflict: Option<String>,
    /// Whether the client announced the file as a block list (`upload_blocks`):
    /// chunk `n` is then block `n`, of that block's size.
    pub announced_blocks: bool,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
