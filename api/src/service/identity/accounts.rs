//! Managing accounts after they exist: finding one by name, resetting a
//! password, deleting a user, and the operator's (CLI) view of tokens. Every
//! change that takes access away forgets the user's cached authentications at
//! once, so their open dashboard and sockets stop working on this server.
use chrono::Utc;
use entity::{api_token, chunked_upload, device, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::service::Code;
use crate::service::error::{Error, Result};
use crate::service::{Services, audit::AuditEntry};

use super::*;

impl Services {
    /// The user called `username`, for an admin (`None`: the operator, from the CLI).
    pub async fn user_by_name(&self, actor: Option<&Caller>, username: &str) -> Result<UserInfo> {
        if let Some(actor) = actor {
            actor.require_admin()?;
        }
        user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(self.db())
            .await?
            .map(UserInfo::from)
            .ok_or_else(|| Error::not_found("user"))
    }

    /// The user `user_id`, for an admin (`None`: the operator).
    pub async fn user_by_id(&self, actor: Option<&Caller>, user_id: Uuid) -> Result<UserInfo> {
        if let Some(actor) = actor {
            actor.require_admin()?;
        }
        user::Entity::find_by_id(user_id)
            .one(self.db())
            .await?
            .map(UserInfo::from)
            .ok_or_else(|| Error::not_found("user"))
    }

    /// Give a user a new password. An admin (`None`: the operator) may reset
    /// anyone's; every token of theirs is revoked, so every session, device
    /// and socket of theirs must sign in again (as Nextcloud and Dropbox do
    /// after a reset).
    pub async fn reset_password(
        &self,
        actor: Option<&Caller>,
        user_id: Uuid,
        password: &str,
    ) -> Result<UserInfo> {
        if let Some(actor) = actor {
            actor.require_admin()?;
        }
        validate_password(password)?;
        let found = user::Entity::find_by_id(user_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        let password_hash = self.inner.passwords.hash(password.to_owned()).await?;
        let now = self.clock().now();
        let txn = self.begin_write().await?;
        let mut active = sea_orm::IntoActiveModel::into_active_model(found);
        active.password_hash = Set(password_hash);
        active.updated_at = Set(now);
        let updated = active.update(&txn).await?;
        let revoked = revoke_all(&txn, user_id, now).await?;
        let entry = AuditEntry {
            action: "user.password_reset",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "tokens_revoked": revoked })),
        };
        self.audit(&txn, actor, entry).await?;
        txn.commit().await?;
        self.access_changed(user_id).await;
        Ok(UserInfo::from(updated))
    }

    /// Delete a user and everything that is theirs: devices, tokens, files and
    /// their versions, folders, schedules and runs, selective sync, bandwidth
    /// limit, unfinished uploads (their staged chunks are removed). Stored
    /// contents no other file references stay on disk until blob garbage
    /// collection exists (README). Admins only (`None`: the operator); nobody
    /// deletes themself, and the last enabled admin stays.
    pub async fn delete_user(&self, actor: Option<&Caller>, user_id: Uuid) -> Result<()> {
        if let Some(actor) = actor {
            actor.require_admin()?;
            if actor.user_id == user_id {
                return Err(Error::new(
                    Code::CannotDisableSelf,
                    "an admin cannot delete their own account",
                ));
            }
        }
        let found = user::Entity::find_by_id(user_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        if found.role == Role::Admin && !found.disabled {
            self.keep_an_admin(user_id).await?;
        }
        self.discard_unfinished(
            sea_orm::Condition::all().add(chunked_upload::Column::UserId.eq(user_id)),
        )
        .await?;
        // Devices, tokens, files, versions, folders, uploads, schedules, runs and
        // settings all reference the user with ON DELETE CASCADE.
        let writing = self.schedule_writes();
        let txn = self.begin_write().await?;
        user::Entity::delete_by_id(user_id).exec(&txn).await?;
        let entry = AuditEntry {
            action: "user.deleted",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            before: Some(serde_json::json!({ "username": found.username, "role": found.role })),
            after: None,
        };
        self.audit(&txn, actor, entry).await?;
        txn.commit().await?;
        drop(writing);
        self.access_changed(user_id).await;
        Ok(())
    }

    /// Refuse (409 `last_admin`) when no enabled admin but `user_id` would remain.
    pub(crate) async fn keep_an_admin(&self, user_id: Uuid) -> Result<()> {
        let others = user::Entity::find()
            .filter(user::Column::Role.eq(Role::Admin))
            .filter(user::Column::Disabled.eq(false))
            .filter(user::Column::Id.ne(user_id))
            .count(self.db())
            .await?;
        if others == 0 {
            return Err(Error::new(
                Code::LastAdmin,
                "this is the last enabled admin: make another admin first",
            ));
        }
        Ok(())
    }

    /// Whether any enabled admin exists (`serve` warns when none does).
    pub async fn has_admin(&self) -> Result<bool> {
        Ok(user::Entity::find()
            .filter(user::Column::Role.eq(Role::Admin))
            .filter(user::Column::Disabled.eq(false))
            .count(self.db())
            .await?
            > 0)
    }

    /// Every token of `username`, newest first, with the client `device_id` of
    /// the device each is bound to, for the operator (CLI).
    pub async fn operator_tokens(
        &self,
        username: &str,
    ) -> Result<Vec<(TokenInfo, Option<String>)>> {
        let owner = self.user_by_name(None, username).await?;
        let devices: Vec<(Uuid, String)> = device::Entity::find()
            .select_only()
            .column(device::Column::Id)
            .column(device::Column::DeviceId)
            .filter(device::Column::UserId.eq(owner.id))
            .into_tuple()
            .all(self.db())
            .await?;
        let rows = api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(owner.id))
            .order_by_desc(api_token::Column::CreatedAt)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|t| {
                let bound = t.device_id.and_then(|d| {
                    devices
                        .iter()
                        .find(|(id, _)| *id == d)
                        .map(|(_, name)| name.clone())
                });
                (token_info(t), bound)
            })
            .collect())
    }

    /// Revoke any token, as the operator (CLI).
    pub async fn operator_revoke_token(&self, token_id: Uuid) -> Result<()> {
        self.revoke(None, token_id).await
    }
}

/// Revoke every live token of `user_id`; how many were.
async fn revoke_all(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<u64> {
    let result = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

pub(crate) fn token_info(t: api_token::Model) -> TokenInfo {
    TokenInfo {
        id: t.id,
        user_id: t.user_id,
        name: t.name,
        device: t.device_id,
        created_at: t.created_at,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
    }
}
