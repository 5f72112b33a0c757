use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000001_create_users::Users;
use super::m20261124_000002_create_devices::Devices;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncBandwidthLimits::Table)
                    .col(pk_uuid(SyncBandwidthLimits::Id))
                    .col(uuid(SyncBandwidthLimits::UserId).unique_key())
                    .col(big_integer_null(SyncBandwidthLimits::UploadSpeedLimit))
                    .col(big_integer_null(SyncBandwidthLimits::DownloadSpeedLimit))
                    .col(boolean(SyncBandwidthLimits::ThrottleEnabled))
                    .col(integer_null(SyncBandwidthLimits::ThrottleStartHour))
                    .col(integer_null(SyncBandwidthLimits::ThrottleEndHour))
                    .col(string(SyncBandwidthLimits::Timezone))
                    .col(timestamp_with_time_zone(SyncBandwidthLimits::CreatedAt))
                    .col(timestamp_with_time_zone(SyncBandwidthLimits::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncBandwidthLimits::Table, SyncBandwidthLimits::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncSchedules::Table)
                    .col(pk_uuid(SyncSchedules::Id))
                    .col(uuid(SyncSchedules::UserId))
                    .col(uuid(SyncSchedules::DeviceId))
                    .col(string(SyncSchedules::ScheduleType))
                    .col(string_null(SyncSchedules::TimeOfDay))
                    .col(integer_null(SyncSchedules::DayOfWeek))
                    .col(integer_null(SyncSchedules::DayOfMonth))
                    .col(string(SyncSchedules::Timezone))
                    .col(boolean(SyncSchedules::SyncDeletions))
                    .col(string(SyncSchedules::ResolveConflicts))
                    .col(integer(SyncSchedules::DebounceSeconds))
                    .col(boolean(SyncSchedules::Enabled))
                    .col(timestamp_with_time_zone_null(SyncSchedules::NextRunAt))
                    .col(timestamp_with_time_zone_null(SyncSchedules::LastRunAt))
                    .col(timestamp_with_time_zone(SyncSchedules::CreatedAt))
                    .col(timestamp_with_time_zone(SyncSchedules::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncSchedules::Table, SyncSchedules::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncSchedules::Table, SyncSchedules::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_schedules_due")
                    .table(SyncSchedules::Table)
                    .col(SyncSchedules::Enabled)
                    .col(SyncSchedules::NextRunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SelectiveSync::Table)
                    .col(pk_uuid(SelectiveSync::Id))
                    .col(uuid(SelectiveSync::DeviceId))
                    .col(string(SelectiveSync::Path))
                    .col(boolean(SelectiveSync::Enabled))
                    .col(boolean(SelectiveSync::IncludeSubfolders))
                    .col(timestamp_with_time_zone(SelectiveSync::CreatedAt))
                    .col(timestamp_with_time_zone(SelectiveSync::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SelectiveSync::Table, SelectiveSync::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_selective_sync_device_path")
                    .table(SelectiveSync::Table)
                    .col(SelectiveSync::DeviceId)
                    .col(SelectiveSync::Path)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SyncBandwidthLimits {
    Table,
    Id,
    UserId,
    UploadSpeedLimit,
    DownloadSpeedLimit,
    ThrottleEnabled,
    ThrottleStartHour,
    ThrottleEndHour,
    Timezone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncSchedules {
    Table,
    Id,
    UserId,
    DeviceId,
    ScheduleType,
    TimeOfDay,
    DayOfWeek,
    DayOfMonth,
    Timezone,
    SyncDeletions,
    ResolveConflicts,
    DebounceSeconds,
    Enabled,
    NextRunAt,
    LastRunAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SelectiveSync {
    Table,
    Id,
    DeviceId,
    Path,
    Enabled,
    IncludeSubfolders,
    CreatedAt,
    UpdatedAt,
}
