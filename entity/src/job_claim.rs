//! A periodic job's slot, claimed by the one node that runs it.
use sea_orm::entity::prelude::*;

/// One row of `job_claims`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job: String,
    /// The slot's start, in seconds since the epoch divided by the job's interval.
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i64,
    pub node: Uuid,
    pub claimed_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
