//! Bearer tokens: logging in, issuing, listing and revoking them, and
//! authenticating a request by one (from memory when checked recently).
use chrono::{DateTime, Duration, Utc};
use entity::{api_token, device, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Set,
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Services, audit::AuditEntry};

use super::*;

/// How stale a device's `last_seen_at` may get before a request refreshes it.
const SEEN_EVERY_SECS: i64 = 60;

impl Services {
    /// Check a username and password; issue a token (bound to the device, if named).
    pub async fn login(&self, request: LoginRequest) -> Result<LoginResult> {
        let bad = || Error::unauthorized("invalid username or password");
        let found = self
            .check_password(&request.username, request.password, request.address)
            .await?
            .ok_or_else(bad)?;
        let device = match request.device_id.as_deref() {
            Some(device_id) => Some(
                self.register_device(
                    found.id,
                    device_id,
                    request.device_name.as_deref(),
                    request.platform.as_deref(),
                )
                .await?,
            ),
            None => None,
        };
        let expires_at =
            self.clock().now() + Duration::days(i64::from(self.limits().token_ttl_days));
        let token = self
            .issue_token(
                found.id,
                device.as_ref().map(|d| d.id),
                "login",
                Some(expires_at),
            )
            .await?;
        Ok(LoginResult {
            token,
            expires_at: Some(expires_at),
            user: LoginUser {
                id: found.id,
                username: found.username,
                role: found.role,
            },
        })
    }

    /// Create a token for `username` from the CLI (device registered if new); printed once.
    pub async fn create_token_for(
        &self,
        username: &str,
        device_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<String> {
        let found = user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(self.db())
            .await?
            .ok_or(Error::not_found("user"))?;
        let device = match device_id {
            Some(device_id) => Some(
                self.register_device(found.id, device_id, None, None)
                    .await?,
            ),
            None => None,
        };
        self.issue_token(found.id, device.map(|d| d.id), name.unwrap_or("cli"), None)
            .await
    }

    pub(crate) async fn issue_token(
        &self,
        user_id: Uuid,
        device: Option<Uuid>,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<String> {
        let token = new_secret();
        api_token::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(user_id),
            device_id: Set(device),
            name: Set(name.to_owned()),
            token_hash: Set(hash_secret(&token)),
            created_at: Set(self.clock().now()),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
        }
        .insert(self.db())
        .await?;
        Ok(token)
    }

    /// The caller's tokens (admins may name another user), newest first.
    pub async fn list_tokens(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
    ) -> Result<Vec<TokenInfo>> {
        let owner = owner.unwrap_or(caller.user_id);
        if !caller.can_access(owner) {
            return Err(Error::not_found("user"));
        }
        let mut query = api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(owner))
            .order_by_desc(api_token::Column::CreatedAt);
        if let Some((device, _)) = caller.confined_to() {
            // As `sees_token`: not the tokens of sibling devices.
            query = query.filter(
                sea_orm::Condition::any()
                    .add(api_token::Column::DeviceId.is_null())
                    .add(api_token::Column::DeviceId.eq(*device)),
            );
        }
        let rows = query.all(self.db()).await?;
        Ok(rows.into_iter().map(super::accounts::token_info).collect())
    }

    /// Revoke a token: one's own, or anyone's for an admin (404 otherwise).
    pub async fn revoke_token(&self, caller: &Caller, token_id: Uuid) -> Result<()> {
        self.revoke(Some(caller), token_id).await
    }

    /// Revoke a token `actor` may see (`None`: the operator, any token);
    /// revoking a revoked token does nothing.
    pub(super) async fn revoke(&self, actor: Option<&Caller>, token_id: Uuid) -> Result<()> {
        let token = api_token::Entity::find_by_id(token_id)
            .one(self.db())
            .await?
            .filter(|t| actor.is_none_or(|c| c.sees_token(t.user_id, t.device_id)))
            .ok_or(Error::not_found("token"))?;
        if token.revoked_at.is_some() {
            return Ok(());
        }
        let mut active = sea_orm::IntoActiveModel::into_active_model(token);
        active.revoked_at = Set(Some(self.clock().now()));
        let revoked = active.update(self.db()).await?;
        self.access_changed(revoked.user_id).await;
        let entry = AuditEntry {
            action: "token.revoked",
            target_type: "token",
            target_id: Some(token_id.to_string()),
            before: None,
            after: None,
        };
        self.audit(self.db(), actor, entry).await
    }

    /// Log out: revoke the bearer token itself (unknown or already revoked: nothing to do).
    pub async fn revoke_bearer(&self, token: &str) -> Result<()> {
        let caller = self.authenticate(token).await?;
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_secret(token)))
            .one(self.db())
            .await?
            .ok_or(Error::unauthorized("invalid or expired token"))?;
        self.revoke_token(&caller, row.id).await
    }

    /// When a bearer token expires (`None`: never, or no such token).
    pub async fn token_expires_at(&self, token: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_secret(token)))
            .one(self.db())
            .await?
            .and_then(|row| row.expires_at))
    }

    /// Who a bearer token acts as; 401 for unknown, expired, revoked or disabled.
    /// A token checked within the last seconds answers from memory (see
    /// [`crate::service::identity::auth_cache`]); otherwise one joined query reads token, owner and device.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        let bad = || Error::unauthorized("invalid or expired token");
        let key = hash_secret(token);
        let now = self.clock().now();
        if let Some(caller) = self.inner.auth_cache.get(&key, now) {
            return Ok(caller);
        }
        type Row = (
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Uuid,
            String,
            Role,
            bool,
            Option<Uuid>,
            Option<String>,
            Option<DateTime<Utc>>,
        );
        let row: Option<Row> = api_token::Entity::find()
            .select_only()
            .column(api_token::Column::RevokedAt)
            .column(api_token::Column::ExpiresAt)
            .column(user::Column::Id)
            .column(user::Column::Username)
            .column(user::Column::Role)
            .column(user::Column::Disabled)
            .column(device::Column::Id)
            .column(device::Column::DeviceId)
            .column(device::Column::LastSeenAt)
            .join(JoinType::InnerJoin, api_token::Relation::User.def())
            .join(JoinType::LeftJoin, api_token::Relation::Device.def())
            .filter(api_token::Column::TokenHash.eq(key.as_str()))
            .into_tuple()
            .one(self.db())
            .await?;
        let (
            revoked_at,
            expires_at,
            user_id,
            username,
            role,
            disabled,
            device_row,
            device_id,
            last_seen_at,
        ) = row.ok_or_else(bad)?;
        if revoked_at.is_some() || expires_at.is_some_and(|at| at <= now) || disabled {
            return Err(bad());
        }
        // A device is seen whenever its token is used (to the minute: the check
        // above runs at most once per cached period, the write once a minute).
        if let Some(device) = device_row
            && last_seen_at.is_none_or(|at| now - at >= Duration::seconds(SEEN_EVERY_SECS))
        {
            device::Entity::update_many()
                .col_expr(
                    device::Column::LastSeenAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(device::Column::Id.eq(device))
                .exec(self.db())
                .await?;
        }
        let caller = Caller {
            user_id,
            username,
            role,
            device: device_row.zip(device_id),
        };
        self.inner.auth_cache.put(key, caller.clone(), expires_at);
        Ok(caller)
    }
}
