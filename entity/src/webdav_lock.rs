//! A WebDAV lock, shared by every node: `LOCK` on one node is seen by all.
use sea_orm::entity::prelude::*;

/// One row of `webdav_locks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webdav_locks")]
pub struct Model {
    /// `urn:uuid:…`, the lock token clients send back.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: String,
    pub user_id: Uuid,
    /// The locked path, decoded, without a trailing slash (`""` is the root).
    pub path: String,
    /// The path as the client wrote it (percent-encoded), for replies.
    pub url: String,
    pub principal: Option<String>,
    /// The `<D:owner>` element the client sent, as XML.
    pub owner: Option<String>,
    pub shared: bool,
    /// Depth: infinity.
    pub deep: bool,
    pub timeout_secs: i64,
    pub expires_at: DateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
