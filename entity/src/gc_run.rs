//! One run of the block collector: what it pruned, deleted and kept.
use sea_orm::entity::prelude::*;

/// One row of `gc_runs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gc_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub started_at: DateTimeUtc,
    /// `None` while it runs (or when it was cut short).
    pub finished_at: Option<DateTimeUtc>,
    /// Old versions the retention setting removed.
    pub versions_pruned: i64,
    pub blocks_deleted: i64,
    pub bytes_reclaimed: i64,
    /// Blocks left in the store afterwards, and their bytes.
    pub blocks_kept: i64,
    pub bytes_used: i64,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
