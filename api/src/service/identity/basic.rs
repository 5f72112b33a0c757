//! HTTP Basic sign-ins (WebDAV clients send the password with every request):
//! a password checked recently is trusted for a while without argon2.
use entity::user;
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::service::Services;
use crate::service::error::{Error, Result};

use super::*;

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
    pub(crate) fn get(&self, key: &str) -> Option<Uuid> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < BASIC_TRUST)
            .map(|(id, _)| *id)
    }

    /// Forget every password checked for `user_id` (it changed, or they were disabled).
    pub(crate) fn forget_user(&self, user_id: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (id, _)| *id != user_id);
        }
    }

    pub(crate) fn put(&self, key: String, user_id: Uuid) {
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
