//! The block store's manifests: a content (a file version's bytes, named by their
//! whole SHA-256, one row of `blobs`) is the ordered list of blocks it is made of,
//! each block stored once under its own SHA-256. Every content stored before this
//! migration was one whole blob, so it becomes a manifest of one block: itself
//! (nothing on disk moves). An empty content has no blocks.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContentBlocks::Table)
                    .col(string(ContentBlocks::ContentSha256))
                    .col(integer(ContentBlocks::Position))
                    .col(string(ContentBlocks::BlockSha256))
                    .col(big_integer(ContentBlocks::Size))
                    .primary_key(
                        Index::create()
                            .col(ContentBlocks::ContentSha256)
                            .col(ContentBlocks::Position),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_content_blocks_block")
                    .table(ContentBlocks::Table)
                    .col(ContentBlocks::BlockSha256)
                    .to_owned(),
            )
            .await?;
        let existing = Query::select()
            .column(Blobs::Sha256)
            .expr(Expr::val(0))
            .column(Blobs::Sha256)
            .column(Blobs::Size)
            .from(Blobs::Table)
            .and_where(Expr::col(Blobs::Size).gt(0))
            .to_owned();
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ContentBlocks::Table)
                    .columns([
                        ContentBlocks::ContentSha256,
                        ContentBlocks::Position,
                        ContentBlocks::BlockSha256,
                        ContentBlocks::Size,
                    ])
                    .select_from(existing)
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContentBlocks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ContentBlocks {
    Table,
    ContentSha256,
    Position,
    BlockSha256,
    Size,
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    Size,
}
