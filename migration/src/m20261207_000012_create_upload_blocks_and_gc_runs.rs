//! Delta uploads and garbage collection. An upload may announce its file as a
//! list of blocks (`upload_blocks`, flagged by `chunked_uploads.announced_blocks`):
//! chunk `n` is then block `n` of that list. `gc_runs` keeps what each run of the
//! block collector found and reclaimed, for the admin's report.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UploadBlocks::Table)
                    .col(uuid(UploadBlocks::UploadId))
                    .col(integer(UploadBlocks::Position))
                    .col(string(UploadBlocks::Sha256))
                    .col(big_integer(UploadBlocks::Size))
                    .primary_key(
                        Index::create()
                            .col(UploadBlocks::UploadId)
                            .col(UploadBlocks::Position),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_upload_blocks_sha")
                    .table(UploadBlocks::Table)
                    .col(UploadBlocks::UploadId)
                    .col(UploadBlocks::Sha256)
                    .to_owned(),
            )
            .await?;
        // Which versions hold a content: the per-user dedup answer and the collector.
        manager
            .create_index(
                Index::create()
                    .name("ix_file_versions_sha256")
                    .table(FileVersions::Table)
                    .col(FileVersions::Sha256)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChunkedUploads::Table)
                    .add_column(boolean(ChunkedUploads::AnnouncedBlocks).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GcRuns::Table)
                    .col(uuid(GcRuns::Id).primary_key())
                    .col(timestamp_with_time_zone(GcRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(GcRuns::FinishedAt))
                    .col(big_integer(GcRuns::VersionsPruned))
                    .col(big_integer(GcRuns::BlocksDeleted))
                    .col(big_integer(GcRuns::BytesReclaimed))
                    .col(big_integer(GcRuns::BlocksKept))
                    .col(big_integer(GcRuns::BytesUsed))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GcRuns::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChunkedUploads::Table)
                    .drop_column(ChunkedUploads::AnnouncedBlocks)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_file_versions_sha256")
                    .table(FileVersions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(UploadBlocks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UploadBlocks {
    Table,
    UploadId,
    Position,
    Sha256,
    Size,
}

#[derive(DeriveIden)]
enum FileVersions {
    Table,
    Sha256,
}

#[derive(DeriveIden)]
enum ChunkedUploads {
    Table,
    AnnouncedBlocks,
}

#[derive(DeriveIden)]
enum GcRuns {
    Table,
    Id,
    StartedAt,
    FinishedAt,
    VersionsPruned,
    BlocksDeleted,
    BytesReclaimed,
    BlocksKept,
    BytesUsed,
}
