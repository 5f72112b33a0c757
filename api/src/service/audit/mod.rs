//! The audit log: who changed what, when, with the state before and after; read a
//! page at a time in either direction, filtered by user, action and time.
mod names;

use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::service::error::{Code, Error, Result};
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
    /// The target for people (a username, a device's name, a path), as it is now
    /// or, once it is gone, as the entry recorded it.
    pub target_name: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Which entries to read: a page before or after a cursor, and filters.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Entries older than this id (the next page).
    pub older_than: Option<i64>,
    /// Entries newer than this id (the previous page); wins over `older_than`.
    pub newer_than: Option<i64>,
    pub first: u64,
    /// Entries by this user or about this user.
    pub user: Option<Uuid>,
    /// `user.created` exactly, or `user` for every `user.*` action.
    pub action: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

/// A page of the log, newest first, and whether entries lie beyond each end.
#[derive(Debug)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    pub has_older: bool,
    pub has_newer: bool,
}

/// Most entries one page may hold.
const MAX_PAGE: u64 = 500;
/// Longest action filter.
const MAX_ACTION: usize = 100;

impl Services {
    /// A page of the audit log, newest first. Admins see everything, users their
    /// own actions.
    pub async fn audit_log(&self, caller: &Caller, query: AuditQuery) -> Result<AuditPage> {
        let first = query.first.clamp(1, MAX_PAGE);
        let mut filter = Condition::all();
        if caller.role != crate::service::Role::Admin {
            filter = filter.add(audit_log::Column::ActorUserId.eq(caller.user_id));
        }
        if let Some(user) = query.user {
            filter = filter.add(
                Condition::any()
                    .add(audit_log::Column::ActorUserId.eq(user))
                    .add(
                        Condition::all()
                            .add(audit_log::Column::TargetType.eq("user"))
                            .add(audit_log::Column::TargetId.eq(user.to_string())),
                    ),
            );
        }
        if let Some(action) = query
            .action
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if action.len() > MAX_ACTION {
                return Err(Error::new(Code::InvalidValue, "action filter too long"));
            }
            filter = filter.add(if action.contains('.') {
                audit_log::Column::Action.eq(action)
            } else {
                audit_log::Column::Action.starts_with(format!("{action}."))
            });
        }
        if let Some(since) = query.since {
            filter = filter.add(audit_log::Column::At.gte(since));
        }
        if let Some(until) = query.until {
            filter = filter.add(audit_log::Column::At.lt(until));
        }
        // Going back towards newer entries reads upwards from the cursor, then turns
        // the page round so it is newest first like every other page.
        let backwards = query.newer_than.is_some();
        let mut page = audit_log::Entity::find().filter(filter.clone());
        page = match (query.newer_than, query.older_than) {
            (Some(id), _) => page
                .filter(audit_log::Column::Id.gt(id))
                .order_by_asc(audit_log::Column::Id),
            (None, Some(id)) => page
                .filter(audit_log::Column::Id.lt(id))
                .order_by_desc(audit_log::Column::Id),
            (None, None) => page.order_by_desc(audit_log::Column::Id),
        };
        let mut rows = page.limit(first + 1).all(self.db()).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        if backwards {
            rows.reverse();
        }
        let (has_older, has_newer) = if backwards {
            let oldest = rows.last().map(|r| r.id);
            (self.audit_beyond(&filter, oldest, false).await?, more)
        } else {
            let newest = rows.first().map(|r| r.id).or(query.older_than);
            (more, self.audit_beyond(&filter, newest, true).await?)
        };
        let names = self.audit_target_names(&rows).await?;
        let records = rows
            .into_iter()
            .zip(names)
            .map(|(r, target_name)| AuditRecord {
                id: r.id,
                at: r.at,
                actor_user_id: r.actor_user_id,
                actor: r.actor,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                target_name,
                before: r.before,
                after: r.after,
            })
            .collect();
        Ok(AuditPage {
            records,
            has_older,
            has_newer,
        })
    }

    /// Whether an entry matching `filter` lies newer (or older) than `id`.
    async fn audit_beyond(&self, filter: &Condition, id: Option<i64>, newer: bool) -> Result<bool> {
        let Some(id) = id else {
            return Ok(false);
        };
        let beyond = if newer {
            audit_log::Column::Id.gt(id)
        } else {
            audit_log::Column::Id.lt(id)
        };
        let found: Option<i64> = audit_log::Entity::find()
            .select_only()
            .column(audit_log::Column::Id)
            .filter(filter.clone())
            .filter(beyond)
            .limit(1)
            .into_tuple()
            .one(self.db())
            .await?;
        Ok(found.is_some())
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
