//! One user's limit across every node: each node moving the user's bytes in a
//! direction holds a share in the database (`bandwidth_shares`), renewed at
//! every re-read of the limit and lapsing [`SHARE_LIFE`] after its last
//! transfer; the limit is split evenly among the live shares. Evenly, not by
//! demand: a node that moves little leaves part of its slice unused until its
//! share lapses. On SQLite there is one node and the whole limit is its own.
use entity::bandwidth_share;
use sea_orm::{
    ColumnTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::OnConflict,
};
use uuid::Uuid;

use crate::service::Services;
use crate::service::bandwidth::throttle::Direction;
use crate::service::error::Result;

/// How long a share lives without a renewal.
pub const SHARE_LIFE: std::time::Duration = std::time::Duration::from_secs(3);

impl Services {
    /// Whether limits are split among nodes (PostgreSQL).
    pub(crate) fn limits_are_shared(&self) -> bool {
        self.db().get_database_backend() == DatabaseBackend::Postgres
    }

    /// This node's slice of `rate` for `user_id` in `direction`, renewing its share.
    pub(crate) async fn node_share(
        &self,
        user_id: Uuid,
        direction: Direction,
        rate: u64,
    ) -> Result<u64> {
        if !self.limits_are_shared() {
            return Ok(rate);
        }
        let now = self.clock().now();
        let expires_at = now + chrono::Duration::from_std(SHARE_LIFE).unwrap_or_default();
        bandwidth_share::Entity::insert(bandwidth_share::ActiveModel {
            user_id: Set(user_id),
            direction: Set(direction.as_str().to_owned()),
            node: Set(self.inner.events.peers.node()),
            expires_at: Set(expires_at),
        })
        .on_conflict(
            OnConflict::columns([
                bandwidth_share::Column::UserId,
                bandwidth_share::Column::Direction,
                bandwidth_share::Column::Node,
            ])
            .update_column(bandwidth_share::Column::ExpiresAt)
            .to_owned(),
        )
        .exec(self.db())
        .await?;
        let live = bandwidth_share::Entity::find()
            .filter(bandwidth_share::Column::UserId.eq(user_id))
            .filter(bandwidth_share::Column::Direction.eq(direction.as_str()))
            .filter(bandwidth_share::Column::ExpiresAt.gt(now))
            .count(self.db())
            .await?
            .max(1);
        Ok((rate / live).max(1))
    }
}
