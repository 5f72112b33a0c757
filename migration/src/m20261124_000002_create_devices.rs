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
                    .table(Devices::Table)
                    .col(pk_uuid(Devices::Id))
                    .col(uuid(Devices::UserId))
                    .col(string(Devices::DeviceId))
                    .col(string(Devices::Name))
                    .col(string(Devices::Platform))
                    .col(timestamp_with_time_zone(Devices::CreatedAt))
                    .col(timestamp_with_time_zone_null(Devices::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Devices::Table, Devices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_devices_user_device")
                    .table(Devices::Table)
                    .col(Devices::UserId)
                    .col(Devices::DeviceId)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
pub enum Devices {
    Table,
    Id,
    UserId,
    DeviceId,
    Name,
    Platform,
    CreatedAt,
    LastSeenAt,
}
