//! Checking a username and password, the one way every sign-in (REST login,
//! GraphQL `login` — the dashboard's form included — and WebDAV Basic) does it: refused up front when the address
//! or the username has failed too often, hashed on the bounded pool, and every
//! failure logged with the client's address (for fail2ban) and audited.
use std::net::IpAddr;

use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::service::error::Result;
use crate::service::{Services, audit::AuditEntry};

impl Services {
    /// The enabled user `username` names when `password` is theirs; `None` when it
    /// is not (or the user is unknown or disabled); 429 when over the failure limits.
    pub(crate) async fn check_password(
        &self,
        username: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<Option<user::Model>> {
        let guard = &self.inner.login_guard;
        guard.admit(address, username)?;
        let (found, matches) = match self.find_and_verify(username, password).await {
            Ok(checked) => checked,
            Err(err) => {
                // Never checked (the pool is busy, the database away): not a guess.
                guard.refund(address, username);
                return Err(err);
            }
        };
        match found {
            Some(found) if matches && !found.disabled => {
                guard.refund(address, username);
                Ok(Some(found))
            }
            // The right password of a disabled user: refused, but not a guess.
            Some(_) if matches => {
                guard.refund(address, username);
                Ok(None)
            }
            found => {
                self.sign_in_failed(username, found.as_ref(), address).await;
                Ok(None)
            }
        }
    }

    /// The user `username` names, and whether `password` is theirs.
    async fn find_and_verify(
        &self,
        username: &str,
        password: String,
    ) -> Result<(Option<user::Model>, bool)> {
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
        Ok((found, matches))
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
