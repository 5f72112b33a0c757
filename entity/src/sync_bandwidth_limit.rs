//! A user's bandwidth limit and its throttle window: the seed's `SyncBandwidthLimit`.
use sea_orm::entity::prelude::*;

/// One row of `sync_bandwidth_limits`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_bandwidth_limits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub user_id: Uuid,
    /// Bytes per second; `None` is unlimited.
    pub upload_speed_limit: Option<i64>,
    /// Bytes per second; `None` is unlimited.
    pub download_speed_limit: Option<i64>,
    pub throttle_enabled: bool,
    pub throttle_start_hour: Option<i32>,
    pub throttle_end_hour: Option<i32>,
    /// IANA zone name.
    pub timezone: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
