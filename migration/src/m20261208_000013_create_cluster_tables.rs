//! What several nodes on one database share: WebDAV locks (`webdav_locks`),
//! claims on periodic jobs (`job_claims`: one node runs each slot), and each
//! node's share of a user's bandwidth (`bandwidth_shares`).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebdavLocks::Table)
                    .col(string(WebdavLocks::Token).primary_key())
                    .col(uuid(WebdavLocks::UserId))
                    .col(string(WebdavLocks::Path))
                    .col(string(WebdavLocks::Url))
                    .col(string_null(WebdavLocks::Principal))
                    .col(text_null(WebdavLocks::Owner))
                    .col(boolean(WebdavLocks::Shared))
                    .col(boolean(WebdavLocks::Deep))
                    .col(big_integer(WebdavLocks::TimeoutSecs))
                    .col(timestamp_with_time_zone(WebdavLocks::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webdav_locks_user")
                    .table(WebdavLocks::Table)
                    .col(WebdavLocks::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobClaims::Table)
                    .col(string(JobClaims::Job))
                    .col(big_integer(JobClaims::Slot))
                    .col(uuid(JobClaims::Node))
                    .col(timestamp_with_time_zone(JobClaims::ClaimedAt))
                    .primary_key(Index::create().col(JobClaims::Job).col(JobClaims::Slot))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BandwidthShares::Table)
                    .col(uuid(BandwidthShares::UserId))
                    .col(string(BandwidthShares::Direction))
                    .col(uuid(BandwidthShares::Node))
                    .col(timestamp_with_time_zone(BandwidthShares::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(BandwidthShares::UserId)
                            .col(BandwidthShares::Direction)
                            .col(BandwidthShares::Node),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            BandwidthShares::Table.into_iden(),
            JobClaims::Table.into_iden(),
            WebdavLocks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum WebdavLocks {
    Table,
    Token,
    UserId,
    Path,
    Url,
    Principal,
    Owner,
    Shared,
    Deep,
    TimeoutSecs,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum JobClaims {
    Table,
    Job,
    Slot,
    Node,
    ClaimedAt,
}

#[derive(DeriveIden)]
enum BandwidthShares {
    Table,
    UserId,
    Direction,
    Node,
    ExpiresAt,
}
