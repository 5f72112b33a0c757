use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000001_create_users::Users;
use super::m20261124_000002_create_devices::Devices;
use super::m20261124_000004_create_files::FileMetadata;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChunkedUploads::Table)
                    .col(pk_uuid(ChunkedUploads::Id))
                    .col(uuid(ChunkedUploads::UserId))
                    .col(uuid(ChunkedUploads::DeviceId))
                    .col(uuid_null(ChunkedUploads::FileMetadataId))
                    .col(string(ChunkedUploads::FilePath))
                    .col(string(ChunkedUploads::FileName))
                    .col(big_integer(ChunkedUploads::TotalSize))
                    .col(big_integer(ChunkedUploads::ChunkSize))
                    .col(integer(ChunkedUploads::TotalChunks))
                    .col(big_integer(ChunkedUploads::UploadedBytes))
                    .col(integer(ChunkedUploads::CompletedChunks))
                    .col(string_null(ChunkedUploads::FileHash))
                    .col(timestamp_with_time_zone_null(ChunkedUploads::ModifiedAt))
                    .col(integer_null(ChunkedUploads::BaseVersion))
                    .col(string(ChunkedUploads::ResumeTokenHash))
                    .col(string(ChunkedUploads::Status))
                    .col(string_null(ChunkedUploads::ErrorCode))
                    .col(integer_null(ChunkedUploads::ResultVersion))
                    .col(string_null(ChunkedUploads::ResultSha256))
                    .col(timestamp_with_time_zone(ChunkedUploads::ExpiresAt))
                    .col(timestamp_with_time_zone(ChunkedUploads::CreatedAt))
                    .col(timestamp_with_time_zone(ChunkedUploads::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ChunkedUploads::CompletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChunkedUploads::Table, ChunkedUploads::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChunkedUploads::Table, ChunkedUploads::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChunkedUploads::Table, ChunkedUploads::FileMetadataId)
                            .to(FileMetadata::Table, FileMetadata::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_chunked_uploads_status_expires")
                    .table(ChunkedUploads::Table)
                    .col(ChunkedUploads::Status)
                    .col(ChunkedUploads::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_chunked_uploads_user_status")
                    .table(ChunkedUploads::Table)
                    .col(ChunkedUploads::UserId)
                    .col(ChunkedUploads::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UploadChunks::Table)
                    .col(uuid(UploadChunks::UploadId))
                    .col(integer(UploadChunks::ChunkNumber))
                    .col(big_integer(UploadChunks::Size))
                    .col(string(UploadChunks::Sha256))
                    .col(timestamp_with_time_zone(UploadChunks::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(UploadChunks::UploadId)
                            .col(UploadChunks::ChunkNumber),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UploadChunks::Table, UploadChunks::UploadId)
                            .to(ChunkedUploads::Table, ChunkedUploads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ChunkedUploads {
    Table,
    Id,
    UserId,
    DeviceId,
    FileMetadataId,
    FilePath,
    FileName,
    TotalSize,
    ChunkSize,
    TotalChunks,
    UploadedBytes,
    CompletedChunks,
    FileHash,
    ModifiedAt,
    BaseVersion,
    ResumeTokenHash,
    Status,
    ErrorCode,
    ResultVersion,
    ResultSha256,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum UploadChunks {
    Table,
    UploadId,
    ChunkNumber,
    Size,
    Sha256,
    CreatedAt,
}
