//! One entry of a run's sync plan: a file to fetch or a deletion to apply.
use sea_orm::entity::prelude::*;

/// One row of `sync_run_changes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_run_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: Uuid,
    pub path: String,
    /// `upsert` or `delete`.
    pub change: String,
    pub version: i32,
    pub size: i64,
    pub sha256: String,
    pub modified_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
