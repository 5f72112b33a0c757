//! A WebDAV dead property (RFC 4918 §4): client-set XML kept on a path.
use sea_orm::entity::prelude::*;

/// One row of `dead_properties`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dead_properties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub path: String,
    /// The property's XML namespace (`""` for none).
    #[sea_orm(primary_key, auto_increment = false)]
    pub namespace: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub prefix: Option<String>,
    /// The whole property element as the client sent it.
    pub xml: Option<Vec<u8>>,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
