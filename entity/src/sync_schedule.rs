//! When a device syncs: the seed's `SyncSchedule`.
use sea_orm::entity::prelude::*;

/// One row of `sync_schedules`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The `devices.id` it belongs to.
    pub device_id: Uuid,
    /// `daily`, `weekly`, `monthly` or `on_change`.
    pub schedule_type: crate::enums::ScheduleType,
    /// `HH:MM` local time.
    pub time_of_day: Option<String>,
    /// 0 = Monday … 6 = Sunday.
    pub day_of_week: Option<i32>,
    /// 1–31.
    pub day_of_month: Option<i32>,
    pub timezone: String,
    pub sync_deletions: bool,
    /// `keep_newest`, `keep_local` or `keep_server`.
    pub resolve_conflicts: crate::enums::ResolveConflicts,
    pub debounce_seconds: i32,
    pub enabled: bool,
    pub next_run_at: Option<DateTimeUtc>,
    pub last_run_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joined when schedules are listed with their device's name.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The device it belongs to.
    #[sea_orm(
        belongs_to = "super::device::Entity",
        from = "Column::DeviceId",
        to = "super::device::Column::Id"
    )]
    Device,
}

impl Related<super::device::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Device.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
