//! Users, passwords, login and bearer tokens; [`Caller`] is who a request acts as.
use crate::service::Code;
use chrono::{DateTime, Duration, Utc};
use entity::{api_token, device, user};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Services, audit::AuditEntry};
use crate::service::error::{Error, Result};

pub use entity::enums::Role;

/// The authenticated identity a request acts as.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    /// The device a device-bound token is bound to: (`devices.id`, client `device_id`).
    pub device: Option<(Uuid, String)>,
}

impl Caller {
    /// Whether this caller may act on something owned by `owner`.
    pub fn can_access(&self, owner: Uuid) -> bool {
        self.role == Role::Admin || self.user_id == owner
    }

    /// The device a device-bound token of a non-admin is confined to:
    /// (`devices.id`, client `device_id`). Such a token sees and changes its own
    /// device's uploads, schedules, runs and tokens (and the user's unbound
    /// tokens), never its sibling devices'.
    pub fn confined_to(&self) -> Option<&(Uuid, String)> {
        match self.role {
            Role::Admin => None,
            Role::User => self.device.as_ref(),
        }
    }

    /// Whether this caller may see something of `owner`'s device `device` (`devices.id`).
    pub fn sees_device(&self, owner: Uuid, device: Uuid) -> bool {
        self.can_access(owner) && self.confined_to().is_none_or(|(id, _)| *id == device)
    }

    /// [`Caller::sees_device`] by the client's `device_id`.
    pub fn sees_device_named(&self, owner: Uuid, device_id: &str) -> bool {
        self.can_access(owner) && self.confined_to().is_none_or(|(_, name)| name == device_id)
    }

    /// Whether this caller may see or revoke a token of `owner` bound to `device`:
    /// a confined caller, its own device's and the user's unbound tokens only.
    pub fn sees_token(&self, owner: Uuid, device: Option<Uuid>) -> bool {
        self.can_access(owner)
            && self
                .confined_to()
                .is_none_or(|(id, _)| device.is_none_or(|d| d == *id))
    }

    /// Fail with 403 unless an admin.
    pub fn require_admin(&self) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            Role::User => Err(Error::forbidden("admin role required")),
        }
    }
}

/// A user as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct UserInfo {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserInfo {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            username: u.username,
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// A token as the API shows it (never the secret).
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The `devices.id` it is bound to.
    pub device: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What `login` answers.
#[derive(Debug, Serialize)]
pub struct LoginResult {
    pub token: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub user: LoginUser,
}

/// The `user` object of a login answer.
#[derive(Debug, Serialize)]
pub struct LoginUser {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
}

/// Who is logging in, from where.
#[derive(Debug, Default)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub platform: Option<String>,
    /// The client's address (failed attempts are counted against it).
    pub address: Option<std::net::IpAddr>,
}

/// Lowercase hex SHA-256 of a secret (tokens, resume tokens).
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh opaque secret: 256 random bits, hex.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn validate_username(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !ok {
        return Err(Error::new(
            Code::InvalidUsername,
            "username must be 1–64 characters of letters, digits, '.', '_', '-' or '@'",
        ));
    }
    Ok(())
}

fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(Error::new(
            Code::InvalidPassword,
            "password must be 8 to 1024 characters",
        ));
    }
    Ok(())
}

impl Services {
    /// Create a user. `actor` is the admin doing it (`None` from the CLI or bootstrap).
    pub async fn create_user(
        &self,
        actor: Option<&super::Caller>,
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

    async fn issue_token(
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
        Ok(rows
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                user_id: t.user_id,
                name: t.name,
                device: t.device_id,
                created_at: t.created_at,
                expires_at: t.expires_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    /// Revoke a token: one's own, or anyone's for an admin (404 otherwise).
    pub async fn revoke_token(&self, caller: &Caller, token_id: Uuid) -> Result<()> {
        let token = api_token::Entity::find_by_id(token_id)
            .one(self.db())
            .await?
            .filter(|t| caller.sees_token(t.user_id, t.device_id))
            .ok_or(Error::not_found("token"))?;
        if token.revoked_at.is_some() {
            return Ok(());
        }
        let mut active = sea_orm::IntoActiveModel::into_active_model(token);
        active.revoked_at = Set(Some(self.clock().now()));
        let revoked = active.update(self.db()).await?;
        self.access_changed(revoked.user_id);
        let entry = AuditEntry {
            action: "token.revoked",
            target_type: "token",
            target_id: Some(token_id.to_string()),
            before: None,
            after: None,
        };
        self.audit(self.db(), Some(caller), entry).await
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
    /// [`super::auth_cache`]); otherwise one joined query reads token, owner and device.
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
            .join(JoinType::InnerJoin, api_token::Relation::User.def())
            .join(JoinType::LeftJoin, api_token::Relation::Device.def())
            .filter(api_token::Column::TokenHash.eq(key.as_str()))
            .into_tuple()
            .one(self.db())
            .await?;
        let (revoked_at, expires_at, user_id, username, role, disabled, device_row, device_id) =
            row.ok_or_else(bad)?;
        if revoked_at.is_some() || expires_at.is_some_and(|at| at <= now) || disabled {
            return Err(bad());
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

/// How long a checked HTTP Basic password is trusted before argon2 checks it
/// again: WebDAV clients send it with every request.
const BASIC_TRUST: std::time::Duration = std::time::Duration::from_secs(300);
/// Entries the Basic cache holds before expired ones are swept.
const BASIC_CACHE_SWEEP: usize = 1024;
/// Entries the Basic cache never grows past (new ones wait for old ones to expire).
const BASIC_CACHE_MAX: usize = 10_000;

/// Recently checked Basic credentials: SHA-256 of (username, password) → user.
#[derive(Debug, Default)]
pub(crate) struct BasicCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Uuid, std::time::Instant)>>,
}

impl BasicCache {
    fn get(&self, key: &str) -> Option<Uuid> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < BASIC_TRUST)
            .map(|(id, _)| *id)
    }

    fn put(&self, key: String, user_id: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= BASIC_CACHE_SWEEP {
                entries.retain(|_, (_, at)| at.elapsed() < BASIC_TRUST);
            }
            if entries.len() >= BASIC_CACHE_MAX {
                return;
            }
            entries.insert(key, (user_id, std::time::Instant::now()));
        }
    }
}

impl Services {
    /// Who HTTP Basic credentials act as: `secret` is the user's password or one
    /// of their tokens (a token of another user is refused). 401 otherwise.
    pub async fn authenticate_basic(
        &self,
        username: &str,
        secret: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<Caller> {
        let bad = || Error::unauthorized("invalid username or password");
        if let Ok(caller) = self.authenticate(secret).await {
            return if caller.username == username {
                Ok(caller)
            } else {
                Err(bad())
            };
        }
        let key = hash_secret(&format!("{username}\0{secret}"));
        let found = match self.inner.basic_cache.get(&key) {
            Some(user_id) => user::Entity::find_by_id(user_id).one(self.db()).await?,
            None => {
                let found = self
                    .check_password(username, secret.to_owned(), address)
                    .await?;
                if let Some(found) = &found {
                    self.inner.basic_cache.put(key, found.id);
                }
                found
            }
        };
        match found {
            Some(found) if !found.disabled && found.username == username => Ok(Caller {
                user_id: found.id,
                username: found.username,
                role: found.role,
                device: None,
            }),
            _ => Err(bad()),
        }
    }
}
