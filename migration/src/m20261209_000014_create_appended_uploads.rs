//! Uploads that grow by offset (tus): what the chunked upload row does not hold —
//! whether the length is still to come, whether it is a partial upload to be
//! concatenated later, the parts a final upload joined, and the client's
//! metadata as sent.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppendedUploads::Table)
                    .col(uuid(AppendedUploads::UploadId).primary_key())
                    .col(boolean(AppendedUploads::LengthDeferred))
                    .col(boolean(AppendedUploads::Partial))
                    .col(text_null(AppendedUploads::Parts))
                    .col(text_null(AppendedUploads::Metadata))
                    .col(timestamp_with_time_zone(AppendedUploads::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AppendedUploads::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AppendedUploads {
    Table,
    UploadId,
    LengthDeferred,
    Partial,
    Parts,
    Metadata,
    CreatedAt,
}
