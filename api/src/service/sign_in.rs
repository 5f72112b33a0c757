//! Checking a username and password, the one way every sign-in (REST login,
//! GraphQL `login`, WebDAV Basic) does it: refused up front when the address
//! or the username has failed too often, hashed on the bounded pool, and every
//! failure logged with the client's address (for fail2ban) and audited.
use std::net::IpAddr;

use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{Services, audit::AuditEntry};
use crate::error::Result;

impl Services {
    /// The enabled user `username` names when `password` is theirs; `None` when it
    /// is not (or the user is unknown or disabled); 429 when over the failure limits.
    pub(crate) async fn check_password(
        &self,
        username: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<Option<user::Model>> {
        self.inner.login_guard.admit(address, username)?;
        let found = user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(self.db())
            .await?;
        let matches = match &found {
            Some(found) => {
                self.inner
                    .passwords
                    .verify(password, found.password_hash.clone())
                    .await?
            }
            None => {
                // Spend the time of a real check, so names cannot be probed by timing.
                self.inner.passwords.hash(password).await?;
                false
            }
        };
        match found {
            Some(found) if matches && !found.disabled => {
                self.inner.login_guard.succeeded(address, username);
                Ok(Some(found))
            }
            // The right password of a disabled user: refused, but not a guess.
            Some(_) if matches => {
                self.inner.login_guard.succeeded(address, username);
                Ok(None)
            }
            found => {
                self.sign_in_failed(username, found.as_ref(), address).await;
                Ok(None)
            }
        }
    }

    async fn sign_in_failed(
        &self,
        username: &str,
        found: Option<&user::Model>,
        address: Option<IpAddr>,
    ) {
        let peer = address.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        tracing::warn!(%peer, username, "failed sign-in");
        let entry = AuditEntry {
            action: "login.failed",
            target_type: "user",
            target_id: found.map(|f| f.id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "username": username, "peer": peer })),
        };
        if let Err(err) = self.audit(self.db(), None, entry).await {
            tracing::error!(%err, "auditing a failed sign-in");
        }
    }
}
