use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000002_create_devices::Devices;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One column added to an existing table (SQLite takes one per statement).
async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(column.to_owned())
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScheduleRuns::Table)
                    .col(pk_uuid(ScheduleRuns::Id))
                    .col(uuid(ScheduleRuns::ScheduleId))
                    .col(uuid(ScheduleRuns::UserId))
                    .col(uuid(ScheduleRuns::DeviceId))
                    .col(string(ScheduleRuns::Trigger))
                    .col(timestamp_with_time_zone_null(ScheduleRuns::ScheduledFor))
                    .col(string(ScheduleRuns::Status))
                    .col(timestamp_with_time_zone(ScheduleRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(ScheduleRuns::FinishedAt))
                    .col(timestamp_with_time_zone_null(ScheduleRuns::ChangesSince))
                    .col(timestamp_with_time_zone(ScheduleRuns::ChangesUntil))
                    .col(integer(ScheduleRuns::ChangeCount))
                    .col(integer(ScheduleRuns::DeletionCount))
                    .col(timestamp_with_time_zone_null(ScheduleRuns::AcknowledgedAt))
                    .col(string_null(ScheduleRuns::Error))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScheduleRuns::Table, ScheduleRuns::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_schedule_runs_schedule")
                    .table(ScheduleRuns::Table)
                    .col(ScheduleRuns::ScheduleId)
                    .col(ScheduleRuns::StartedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_schedule_runs_device")
                    .table(ScheduleRuns::Table)
                    .col(ScheduleRuns::DeviceId)
                    .col(ScheduleRuns::StartedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncRunChanges::Table)
                    .col(
                        big_integer(SyncRunChanges::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(uuid(SyncRunChanges::RunId))
                    .col(string(SyncRunChanges::Path))
                    .col(string(SyncRunChanges::Change))
                    .col(integer(SyncRunChanges::Version))
                    .col(big_integer(SyncRunChanges::Size))
                    .col(string(SyncRunChanges::Sha256))
                    .col(timestamp_with_time_zone(SyncRunChanges::ModifiedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncRunChanges::Table, SyncRunChanges::RunId)
                            .to(ScheduleRuns::Table, ScheduleRuns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_run_changes_run")
                    .table(SyncRunChanges::Table)
                    .col(SyncRunChanges::RunId)
                    .to_owned(),
            )
            .await?;
        add_column(
            manager,
            Devices::Table,
            timestamp_with_time_zone_null(Alias::new("synced_until")),
        )
        .await?;
        add_column(
            manager,
            Alias::new("file_metadata"),
            uuid_null(Alias::new("changed_by_device_id")),
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_file_metadata_user_updated")
                    .table(Alias::new("file_metadata"))
                    .col(Alias::new("user_id"))
                    .col(Alias::new("updated_at"))
                    .to_owned(),
            )
            .await?;
        add_column(
            manager,
            Alias::new("chunked_uploads"),
            string_null(Alias::new("result_path")),
        )
        .await?;
        add_column(
            manager,
            Alias::new("chunked_uploads"),
            text_null(Alias::new("conflict")),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum ScheduleRuns {
    Table,
    Id,
    ScheduleId,
    UserId,
    DeviceId,
    Trigger,
    ScheduledFor,
    Status,
    StartedAt,
    FinishedAt,
    ChangesSince,
    ChangesUntil,
    ChangeCount,
    DeletionCount,
    AcknowledgedAt,
    Error,
}

#[derive(DeriveIden)]
enum SyncRunChanges {
    Table,
    Id,
    RunId,
    Path,
    Change,
    Version,
    Size,
    Sha256,
    ModifiedAt,
}
