//! Users: creating them, listing them (admins), disabling them, and the bootstrap admin.
use crate::service::Code;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Services, audit::AuditEntry};

use super::*;

impl Services {
    /// An admin adds a user; `role` is `admin` or `user` (the default).
    pub async fn add_user(
        &self,
        actor: &Caller,
        username: &str,
        password: &str,
        role: Option<&str>,
    ) -> Result<UserInfo> {
        actor.require_admin()?;
        let role = role
            .map_or(Some(Role::User), Role::parse)
            .ok_or_else(|| Error::new(Code::InvalidRole, "role must be admin or user"))?;
        self.create_user(Some(actor), username, password, role)
            .await
    }

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
        let txn = self.begin_write().await?;
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
            change_seq: Set(0),
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

    /// Give `username` the admin role or take it away. `actor` must be an admin
    /// (`None`: the operator, from the CLI); an admin cannot demote themself. Their
    /// cached authentications are forgotten at once and open sockets re-check.
    pub async fn set_user_role(
        &self,
        actor: Option<&Caller>,
        username: &str,
        role: Role,
    ) -> Result<UserInfo> {
        if let Some(actor) = actor {
            actor.require_admin()?;
        }
        let found = user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        if actor.is_some_and(|a| a.user_id == found.id) && role != Role::Admin {
            return Err(Error::new(
                Code::CannotDisableSelf,
                "an admin cannot take away their own admin role",
            ));
        }
        if found.role == Role::Admin && role != Role::Admin && !found.disabled {
            self.keep_an_admin(found.id).await?;
        }
        let before = found.role;
        let mut active = sea_orm::IntoActiveModel::into_active_model(found);
        active.role = Set(role);
        active.updated_at = Set(self.clock().now());
        let updated = active.update(self.db()).await?;
        self.access_changed(updated.id).await;
        let entry = AuditEntry {
            action: "user.role_changed",
            target_type: "user",
            target_id: Some(updated.id.to_string()),
            before: Some(serde_json::json!({ "role": before })),
            after: Some(serde_json::json!({ "role": role })),
        };
        self.audit(self.db(), actor, entry).await?;
        Ok(UserInfo::from(updated))
    }

    /// Every user, by name. `actor` must be an admin (`None`: the operator, from the CLI).
    pub async fn list_users(&self, actor: Option<&Caller>) -> Result<Vec<UserInfo>> {
        if let Some(actor) = actor {
            actor.require_admin()?;
        }
        let users = user::Entity::find()
            .order_by_asc(user::Column::Username)
            .all(self.db())
            .await?;
        Ok(users.into_iter().map(UserInfo::from).collect())
    }

    /// Disable a user (every token of theirs stops working at once, open sockets
    /// close) or enable them again. Admins only (`None`: the operator); an admin
    /// cannot disable themself, and the last enabled admin stays.
    pub async fn set_user_disabled(
        &self,
        actor: Option<&Caller>,
        user_id: Uuid,
        disabled: bool,
    ) -> Result<UserInfo> {
        if let Some(caller) = actor {
            caller.require_admin()?;
            if disabled && user_id == caller.user_id {
                return Err(Error::new(
                    Code::CannotDisableSelf,
                    "an admin cannot disable their own account",
                ));
            }
        }
        let found = user::Entity::find_by_id(user_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("user"))?;
        if disabled && found.role == Role::Admin && !found.disabled {
            self.keep_an_admin(user_id).await?;
        }
        let before = found.disabled;
        let mut active = sea_orm::IntoActiveModel::into_active_model(found);
        active.disabled = Set(disabled);
        active.updated_at = Set(self.clock().now());
        let updated = active.update(self.db()).await?;
        self.access_changed(user_id).await;
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
        self.audit(self.db(), actor, entry).await?;
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
