use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Blobs::Table)
                    .col(string(Blobs::Sha256).primary_key())
                    .col(big_integer(Blobs::Size))
                    .col(timestamp_with_time_zone(Blobs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FileMetadata::Table)
                    .col(pk_uuid(FileMetadata::Id))
                    .col(uuid(FileMetadata::UserId))
                    .col(string(FileMetadata::Path))
                    .col(big_integer(FileMetadata::Size))
                    .col(string(FileMetadata::Sha256))
                    .col(integer(FileMetadata::Version))
                    .col(timestamp_with_time_zone(FileMetadata::ModifiedAt))
                    .col(timestamp_with_time_zone(FileMetadata::CreatedAt))
                    .col(timestamp_with_time_zone(FileMetadata::UpdatedAt))
                    .col(timestamp_with_time_zone_null(FileMetadata::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FileMetadata::Table, FileMetadata::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_file_metadata_user_path")
                    .table(FileMetadata::Table)
                    .col(FileMetadata::UserId)
                    .col(FileMetadata::Path)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FileVersions::Table)
                    .col(pk_uuid(FileVersions::Id))
                    .col(uuid(FileVersions::FileId))
                    .col(integer(FileVersions::Version))
                    .col(big_integer(FileVersions::Size))
                    .col(string(FileVersions::Sha256))
                    .col(timestamp_with_time_zone(FileVersions::ModifiedAt))
                    .col(timestamp_with_time_zone(FileVersions::CreatedAt))
                    .col(uuid_null(FileVersions::DeviceId))
                    .col(uuid_null(FileVersions::UploadId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FileVersions::Table, FileVersions::FileId)
                            .to(FileMetadata::Table, FileMetadata::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_file_versions_file_version")
                    .table(FileVersions::Table)
                    .col(FileVersions::FileId)
                    .col(FileVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    Size,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum FileMetadata {
    Table,
    Id,
    UserId,
    Path,
    Size,
    Sha256,
    Version,
    ModifiedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum FileVersions {
    Table,
    Id,
    FileId,
    Version,
    Size,
    Sha256,
    ModifiedAt,
    CreatedAt,
    DeviceId,
    UploadId,
}
