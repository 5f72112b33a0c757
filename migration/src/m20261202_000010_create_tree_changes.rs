//! The changes feed: every change to a user's tree, numbered by a per-user
//! sequence (`users.change_seq`, bumped inside each tree write, so numbers
//! follow commit order and survive restarts).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(big_integer(Users::ChangeSeq).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TreeChanges::Table)
                    .col(uuid(TreeChanges::UserId))
                    .col(big_integer(TreeChanges::Seq))
                    .col(string(TreeChanges::Path))
                    .col(string(TreeChanges::Kind))
                    .col(integer(TreeChanges::Version))
                    .col(big_integer(TreeChanges::Size))
                    .col(string_null(TreeChanges::Sha256))
                    .col(timestamp_with_time_zone(TreeChanges::ModifiedAt))
                    .col(uuid_null(TreeChanges::DeviceId))
                    .col(timestamp_with_time_zone(TreeChanges::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TreeChanges::UserId)
                            .col(TreeChanges::Seq),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TreeChanges::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::ChangeSeq)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    ChangeSeq,
}

#[derive(DeriveIden)]
enum TreeChanges {
    Table,
    UserId,
    Seq,
    Path,
    Kind,
    Version,
    Size,
    Sha256,
    ModifiedAt,
    DeviceId,
    CreatedAt,
}
