//! A node moving a user's bytes in one direction now: the user's limit is
//! split among the nodes holding a live share.
use sea_orm::entity::prelude::*;

/// One row of `bandwidth_shares`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bandwidth_shares")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `upload` or `download`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub direction: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub node: Uuid,
    pub expires_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
