//! One configured folder of a device's selective sync: the seed's `SelectiveSync`.
use sea_orm::entity::prelude::*;

/// One row of `selective_sync`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "selective_sync")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The `devices.id` it belongs to.
    pub device_id: Uuid,
    /// Normalized folder path.
    pub path: String,
    pub enabled: bool,
    pub include_subfolders: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
