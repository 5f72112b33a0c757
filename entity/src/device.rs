//! A laptop or phone of one user; `device_id` is the client's own name for it.
use sea_orm::entity::prelude::*;

/// One row of `devices`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// Client-chosen identifier, unique per user.
    pub device_id: String,
    pub name: String,
    pub platform: String,
    pub created_at: DateTimeUtc,
    pub last_seen_at: Option<DateTimeUtc>,
    /// The end of the change window of the device's last completed sync run.
    pub synced_until: Option<DateTimeUtc>,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
