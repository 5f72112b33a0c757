//! The audit log: who changed what, when, with the state before and after.
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;

use super::{Caller, Services};
use crate::error::Result;

/// One change to record.
#[derive(Debug)]
pub struct AuditEntry<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Services {
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
