//! The audit log: who changed what, when, with the state before and after.
use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::service::error::Result;
use crate::service::{Caller, Services};

/// One change to record.
#[derive(Debug)]
pub struct AuditEntry<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// One recorded change, as the API shows it.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Most entries one page may hold.
const MAX_PAGE: u64 = 500;

impl Services {
    /// A page of the audit log, newest first, strictly older than the entry
    /// `before_id` when given. Admins see everything, users their own actions.
    /// Returns the page and whether older entries exist.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        before_id: Option<i64>,
        first: u64,
    ) -> Result<(Vec<AuditRecord>, bool)> {
        let first = first.clamp(1, MAX_PAGE);
        let mut query = audit_log::Entity::find()
            .order_by_desc(audit_log::Column::Id)
            .limit(first + 1);
        if caller.role != crate::service::Role::Admin {
            query = query.filter(audit_log::Column::ActorUserId.eq(caller.user_id));
        }
        if let Some(before_id) = before_id {
            query = query.filter(audit_log::Column::Id.lt(before_id));
        }
        let mut rows = query.all(self.db()).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let records = rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                at: r.at,
                actor_user_id: r.actor_user_id,
                actor: r.actor,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                before: r.before,
                after: r.after,
            })
            .collect();
        Ok((records, more))
    }

    /// Record `entry` as done by `actor` (`None`: the system), inside `conn`
    /// (pass the transaction that makes the change, so both land or neither).
    pub(crate) async fn audit(
        &self,
        conn: &impl ConnectionTrait,
        actor: Option<&Caller>,
        entry: AuditEntry<'_>,
    ) -> Result<()> {
        audit_log::ActiveModel {
            at: Set(self.clock().now()),
            actor_user_id: Set(actor.map(|c| c.user_id)),
            actor: Set(actor.map_or_else(|| "system".to_owned(), |c| c.username.clone())),
            action: Set(entry.action.to_owned()),
            target_type: Set(entry.target_type.to_owned()),
            target_id: Set(entry.target_id),
            before: Set(entry.before),
            after: Set(entry.after),
            ..Default::default()
        }
        .insert(conn)
        .await?;
        Ok(())
    }
}
