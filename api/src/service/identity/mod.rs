//! Users, passwords, login and bearer tokens; [`Caller`] is who a request acts as.
mod accounts;
pub(crate) mod auth_cache;
mod basic;
pub mod devices;
pub mod login_guard;
pub mod passwords;
pub(crate) mod sign_in;
mod tokens;
mod users;

use crate::service::Code;
use chrono::{DateTime, Utc};
use entity::user;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::service::error::{Error, Result};

pub(crate) use basic::BasicCache;
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
