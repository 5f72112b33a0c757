//! WebDAV locks (RFC 4918 §6–7) in the database, so that a `LOCK` taken on one
//! node holds on every node. The rules are those of `dav-server`'s in-memory
//! table: a lock on a path covers it, and its descendants when deep; exclusive
//! locks conflict with every other lock they cover, shared ones only with
//! exclusive ones. Expired locks are deleted before every use; a user holds at
//! most the adapter's cap of live locks; every grant is bounded in time.
use chrono::{DateTime, Utc};
use entity::webdav_lock;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::service::error::Result;
use crate::service::{Caller, Services};

/// A lock as the services keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DavLock {
    pub token: String,
    /// Decoded, without a trailing slash (`""` is the root).
    pub path: String,
    /// As the client wrote it.
    pub url: String,
    pub principal: Option<String>,
    /// The owner element, as XML.
    pub owner: Option<String>,
    pub shared: bool,
    pub deep: bool,
    pub timeout: std::time::Duration,
    pub expires_at: DateTime<Utc>,
}

/// What a `LOCK` asks for.
#[derive(Clone, Debug)]
pub struct LockRequest {
    pub path: String,
    pub url: String,
    pub principal: Option<String>,
    pub owner: Option<String>,
    pub timeout: std::time::Duration,
    pub shared: bool,
    pub deep: bool,
}

/// Why a lock was not granted.
#[derive(Clone, Debug)]
pub enum LockRefusal {
    /// This lock is in the way.
    Conflict(DavLock),
    /// The user holds as many locks as allowed.
    Full,
}

/// `path` normalised: decoded, no trailing slash.
pub fn lock_path(path: &str) -> String {
    path.trim_end_matches('/').to_owned()
}

/// Whether `ancestor` is `path` itself or above it.
fn covers_or_is(ancestor: &str, path: &str) -> bool {
    ancestor == path || is_below(path, ancestor)
}

/// Whether `path` lies strictly below `ancestor`.
fn is_below(path: &str, ancestor: &str) -> bool {
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && path.as_bytes()[ancestor.len()] == b'/'
}

fn view(row: webdav_lock::Model) -> DavLock {
    DavLock {
        token: row.token,
        path: row.path,
        url: row.url,
        principal: row.principal,
        owner: row.owner,
        shared: row.shared,
        deep: row.deep,
        timeout: std::time::Duration::from_secs(row.timeout_secs.max(0) as u64),
        expires_at: row.expires_at,
    }
}

/// Whether a submitted token proves `lock` is held by this request.
fn proves(
    lock: &DavLock,
    principal: Option<&str>,
    ignore_principal: bool,
    tokens: &[String],
) -> bool {
    tokens.contains(&lock.token) && (ignore_principal || principal == lock.principal.as_deref())
}

/// The lock that stops an operation on `path` (`shared_ok`: a new shared lock).
/// Locks on `path` and deep locks above it count; with `deep`, every lock
/// below it too.
pub fn conflict(
    locks: &[DavLock],
    path: &str,
    deep: bool,
    principal: Option<&str>,
    ignore_principal: bool,
    tokens: &[String],
    shared_ok: bool,
) -> Option<DavLock> {
    let mut above: Vec<&DavLock> = locks
        .iter()
        .filter(|l| l.path == path || (l.deep && is_below(path, &l.path)))
        .collect();
    above.sort_by_key(|l| l.path.len());
    let mut holds = false;
    let mut first_shared = None;
    for lock in above {
        if proves(lock, principal, ignore_principal, tokens) {
            holds = true;
        } else if !lock.shared {
            return Some(lock.clone());
        } else if !shared_ok {
            first_shared.get_or_insert(lock);
        }
    }
    if !holds && let Some(lock) = first_shared {
        return Some(lock.clone());
    }
    if deep {
        return locks
            .iter()
            .filter(|l| covers_or_is(path, &l.path))
            .find(|l| (!l.shared || !shared_ok) && !proves(l, principal, ignore_principal, tokens))
            .cloned();
    }
    None
}

impl Services {
    /// Every live lock of `user_id`, deleting the expired ones first.
    async fn live_locks(&self, conn: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<DavLock>> {
        let now = self.clock().now();
        webdav_lock::Entity::delete_many()
            .filter(webdav_lock::Column::UserId.eq(user_id))
            .filter(webdav_lock::Column::ExpiresAt.lte(now))
            .exec(conn)
            .await?;
        Ok(webdav_lock::Entity::find()
            .filter(webdav_lock::Column::UserId.eq(user_id))
            .all(conn)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// The caller's live locks.
    pub async fn dav_locks(&self, caller: &Caller) -> Result<Vec<DavLock>> {
        self.live_locks(self.db(), caller.user_id).await
    }

    /// Take a lock, unless another is in the way or the caller holds `max` already.
    pub async fn dav_lock(
        &self,
        caller: &Caller,
        request: LockRequest,
        max: usize,
    ) -> Result<std::result::Result<DavLock, LockRefusal>> {
        // One lock table per user, written one transaction at a time on every node.
        let txn = self.begin_tree_write(caller.user_id).await?;
        let locks = self.live_locks(&txn, caller.user_id).await?;
        if locks.len() >= max {
            return Ok(Err(LockRefusal::Full));
        }
        let path = lock_path(&request.path);
        let check = |deep| conflict(&locks, &path, deep, None, true, &[], request.shared);
        if let Some(found) = check(false).or_else(|| request.deep.then(|| check(true)).flatten()) {
            return Ok(Err(LockRefusal::Conflict(found)));
        }
        let expires_at = self.clock().now()
            + chrono::Duration::from_std(request.timeout).unwrap_or(chrono::Duration::days(1));
        let row = webdav_lock::ActiveModel {
            token: Set(Uuid::new_v4().urn().to_string()),
            user_id: Set(caller.user_id),
            path: Set(path),
            url: Set(request.url),
            principal: Set(request.principal),
            owner: Set(request.owner),
            shared: Set(request.shared),
            deep: Set(request.deep),
            timeout_secs: Set(request.timeout.as_secs() as i64),
            expires_at: Set(expires_at),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(Ok(view(row)))
    }

    /// The caller's lock `token` on `path` or above it, if live.
    async fn held_lock(
        &self,
        conn: &impl ConnectionTrait,
        caller: &Caller,
        path: &str,
        token: &str,
    ) -> Result<Option<DavLock>> {
        let path = lock_path(path);
        Ok(self
            .live_locks(conn, caller.user_id)
            .await?
            .into_iter()
            .find(|l| l.token == token && covers_or_is(&l.path, &path)))
    }

    /// Release lock `token` found at `path` or above it; whether there was one.
    pub async fn dav_unlock(&self, caller: &Caller, path: &str, token: &str) -> Result<bool> {
        let Some(lock) = self.held_lock(self.db(), caller, path, token).await? else {
            return Ok(false);
        };
        webdav_lock::Entity::delete_by_id(lock.token)
            .exec(self.db())
            .await?;
        Ok(true)
    }

    /// Extend lock `token` found at `path` or above it by `timeout` from now.
    pub async fn dav_refresh(
        &self,
        caller: &Caller,
        path: &str,
        token: &str,
        timeout: std::time::Duration,
    ) -> Result<Option<DavLock>> {
        let Some(mut lock) = self.held_lock(self.db(), caller, path, token).await? else {
            return Ok(None);
        };
        lock.timeout = timeout;
        lock.expires_at = self.clock().now()
            + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::days(1));
        webdav_lock::ActiveModel {
            token: Set(lock.token.clone()),
            timeout_secs: Set(timeout.as_secs() as i64),
            expires_at: Set(lock.expires_at),
            ..Default::default()
        }
        .update(self.db())
        .await?;
        Ok(Some(lock))
    }

    /// The lock that stops a write to `path` by a request holding `tokens`.
    pub async fn dav_check(
        &self,
        caller: &Caller,
        path: &str,
        deep: bool,
        principal: Option<&str>,
        ignore_principal: bool,
        tokens: &[String],
    ) -> Result<Option<DavLock>> {
        let locks = self.live_locks(self.db(), caller.user_id).await?;
        let path = lock_path(path);
        Ok(conflict(
            &locks,
            &path,
            false,
            principal,
            ignore_principal,
            tokens,
            false,
        )
        .or_else(|| {
            deep.then(|| {
                conflict(
                    &locks,
                    &path,
                    true,
                    principal,
                    ignore_principal,
                    tokens,
                    false,
                )
            })
            .flatten()
        }))
    }

    /// The locks that apply to `path`: on it, and on the paths above it.
    pub async fn dav_discover(&self, caller: &Caller, path: &str) -> Result<Vec<DavLock>> {
        let path = lock_path(path);
        let mut found: Vec<DavLock> = self
            .live_locks(self.db(), caller.user_id)
            .await?
            .into_iter()
            .filter(|l| covers_or_is(&l.path, &path))
            .collect();
        found.sort_by_key(|l| l.path.len());
        Ok(found)
    }

    /// Drop every lock on `path` and below it (the resource is gone).
    pub async fn dav_forget_locks(&self, caller: &Caller, path: &str) -> Result<()> {
        let path = lock_path(path);
        let gone: Vec<String> = self
            .live_locks(self.db(), caller.user_id)
            .await?
            .into_iter()
            .filter(|l| covers_or_is(&path, &l.path))
            .map(|l| l.token)
            .collect();
        if !gone.is_empty() {
            webdav_lock::Entity::delete_many()
                .filter(webdav_lock::Column::Token.is_in(gone))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(path: &str, shared: bool, deep: bool) -> DavLock {
        DavLock {
            token: format!("t{path}{shared}{deep}"),
            path: path.into(),
            url: path.into(),
            principal: None,
            owner: None,
            shared,
            deep,
            timeout: std::time::Duration::from_secs(60),
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn exclusive_locks_cover_their_path_and_deep_ones_below() {
        let locks = vec![lock("/a", false, true)];
        assert!(conflict(&locks, "/a/b", false, None, true, &[], false).is_some());
        assert!(conflict(&locks, "/ab", false, None, true, &[], false).is_none());
        let token = vec![locks[0].token.clone()];
        assert!(conflict(&locks, "/a/b", false, None, true, &token, false).is_none());
        let shallow = vec![lock("/a", false, false)];
        assert!(conflict(&shallow, "/a/b", false, None, true, &[], false).is_none());
        // A deep write above a lock meets it.
        assert!(conflict(&shallow, "", true, None, true, &[], false).is_some());
    }

    #[test]
    fn shared_locks_stack_but_block_writes() {
        let locks = vec![lock("/a", true, false)];
        assert!(conflict(&locks, "/a", false, None, true, &[], true).is_none());
        assert!(conflict(&locks, "/a", false, None, true, &[], false).is_some());
    }
}
