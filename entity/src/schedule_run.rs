//! One execution of a sync schedule: what triggered it, when, and its sync plan's size.
use sea_orm::entity::prelude::*;

/// One row of `schedule_runs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedule_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The `sync_schedules.id` (kept after the schedule is deleted, as history).
    pub schedule_id: Uuid,
    pub user_id: Uuid,
    /// The `devices.id` the run asks to sync.
    pub device_id: Uuid,
    /// `time`, `change`, `manual` or `catch_up`.
    pub trigger: crate::enums::RunTrigger,
    /// The slot the run stands for (`next_run_at` when it was claimed); none for manual runs.
    pub scheduled_for: Option<DateTimeUtc>,
    /// `requested` (plan ready, device told), `completed` (device acknowledged) or `failed`.
    pub status: crate::enums::RunStatus,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The plan covers changes after this instant (the device's last completed run)…
    pub changes_since: Option<DateTimeUtc>,
    /// …up to this one.
    pub changes_until: DateTimeUtc,
    pub change_count: i32,
    pub deletion_count: i32,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub error: Option<String>,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
