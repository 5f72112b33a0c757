//! Users: creating them, listing them (admins), disabling them, and the bootstrap admin.
use crate::service::Code;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Services, audit::AuditEntry};

use super::*;

impl Services {
    /// Create a user. `actor` is the admin doing it (`None` from the CLI or bootstrap).
    pub async fn create_user(
        &self,
        actor: Option<&crate::service::Caller>,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<UserInfo> {
        if let Some(actor) = actor {
            actor.require_admin()?;
        }
        validate_username(username)?;
        validate_password(password)?;
        let password_hash = self.inner.passwords.hash(password.to_owned()).await?;
        let now = self.clock().now();
        let txn = self.db().begin().await?;
        if user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(Error::new(
                Code::UsernameTaken,
                format!("user {username:?} exists already"),
            ));
        }
        let created = user::ActiveModel {
            id: Set(Uuid::new_v4()),
            username: Set(username.to_owned()),
            password_hash: Set(password_hash),
            role: Set(role),
            disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let info = UserInfo::from(created);
        let entry = AuditEntry {
            action: "user.created",
            target_type: "user",
            target_id: Some(info.id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "username": info.username, "role": info.role })),
        };
        self.audit(&txn, actor, entry).await?;
        txn.commit().await?;
        Ok(info)
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>> {
        let users = user::Entity::find()
            .order_by_asc(user::Column::Username)
            .all(self.db())
            .await?;
        Ok(users.into_iter().map(UserInfo::from).collect())
    }

    /// Disable a user (every token of theirs stops working at once, open sockets
    /// close) or enable them again. Admins only; an admin cannot disable themself.
    pub async fn set_user_disabled(
        &self,
        caller: &Caller,
        user_id: Uuid,
        disabled: bool,
    ) -> Result<UserInfo> {
        caller.require_admin()?;
        if disabled && user_id == caller.user_id {
            return Err(Error::new(
                Code::CannotDisableSelf,
                "an admin cannot disable their own account",
            ));
        }
        let found = user::Entity::find_by_id(user_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("user"))?;
        let before = found.disabled;
        let mut active = sea_orm::IntoActiveModel::into_active_model(found);
        active.disabled = Set(disabled);
        active.updated_at = Set(self.clock().now());
        let updated = active.update(self.db()).await?;
        self.access_changed(user_id);
        let entry = AuditEntry {
            action: if disabled {
                "user.disabled"
            } else {
                "user.enabled"
            },
            target_type: "user",
            target_id: Some(user_id.to_string()),
            before: Some(serde_json::json!({ "disabled": before })),
            after: Some(serde_json::json!({ "disabled": disabled })),
        };
        self.audit(self.db(), Some(caller), entry).await?;
        Ok(UserInfo::from(updated))
    }

    /// Create the configured admin when there is no user at all yet.
    pub async fn bootstrap_admin(&self, username: &str, password: &str) -> Result<bool> {
        if user::Entity::find().count(self.db()).await? > 0 {
            return Ok(false);
        }
        self.create_user(None, username, password, Role::Admin)
            .await?;
        tracing::info!(username, "created the bootstrap admin");
        Ok(true)
    }
}
