//! A person who can log in: `admin` or `user`.
use sea_orm::entity::prelude::*;

/// One row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub username: String,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    /// `admin` or `user`.
    pub role: crate::enums::Role,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The sequence number of the user's latest tree change (the changes feed).
    pub change_seq: i64,
}

/// No declared relations: joins are written out in the service layer.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
