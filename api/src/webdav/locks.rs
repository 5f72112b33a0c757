//! WebDAV locks in memory, bounded: `dav-server`'s `MemLs` keeps every lock
//! forever (it never looks at a lock's timeout). This wrapper grants at most
//! `max_timeout` (`Timeout: Infinite` included), forgets expired locks before
//! every use, and holds at most `max` live locks per user.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use dav_server::{
    davpath::DavPath,
    ls::{DavLock, DavLockSystem, LsFuture},
    memls::MemLs,
};
use xmltree::Element;

/// One user's lock table.
#[derive(Clone, Debug)]
pub struct BoundedLocks {
    inner: Box<MemLs>,
    /// Live locks: token → (path, expiry).
    held: Arc<Mutex<HashMap<String, (DavPath, SystemTime)>>>,
    max: usize,
    max_timeout: Duration,
}

impl BoundedLocks {
    pub fn new(max: usize, max_timeout: Duration) -> Self {
        Self {
            inner: MemLs::new(),
            held: Arc::default(),
            max: max.max(1),
            max_timeout: max_timeout.max(Duration::from_secs(1)),
        }
    }

    /// Whether another lock may be taken now.
    pub fn has_room(&self) -> bool {
        let now = SystemTime::now();
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.values().filter(|(_, until)| *until > now).count() < self.max
    }

    fn granted(&self, asked: Option<Duration>) -> Duration {
        asked.map_or(self.max_timeout, |t| t.min(self.max_timeout))
    }

    /// Release every expired lock from the inner table.
    async fn sweep(&self) {
        let now = SystemTime::now();
        let expired: Vec<(String, DavPath)> = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            let tokens: Vec<String> = held
                .iter()
                .filter(|(_, (_, until))| *until <= now)
                .map(|(token, _)| token.clone())
                .collect();
            tokens
                .into_iter()
                .filter_map(|token| held.remove(&token).map(|(path, _)| (token, path)))
                .collect()
        };
        for (token, path) in expired {
            let _ = self.inner.unlock(&path, &token).await;
        }
    }

    fn remember(&self, lock: &DavLock, timeout: Duration) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(
            lock.token.clone(),
            ((*lock.path).clone(), SystemTime::now() + timeout),
        );
    }
}

impl DavLockSystem for BoundedLocks {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let path = path.clone();
        let principal = principal.map(str::to_owned);
        let owner = owner.cloned();
        Box::pin(async move {
            self.sweep().await;
            let timeout = self.granted(timeout);
            if !self.has_room() {
                // The adapter refuses with 429 before this; a race lands here.
                return Err(DavLock {
                    token: String::new(),
                    path: Box::new(path),
                    principal,
                    owner: None,
                    timeout_at: None,
                    timeout: None,
                    shared: false,
                    deep: false,
                });
            }
            let lock = self
                .inner
                .lock(
                    &path,
                    principal.as_deref(),
                    owner.as_ref(),
                    Some(timeout),
                    shared,
                    deep,
                )
                .await?;
            self.remember(&lock, timeout);
            Ok(lock)
        })
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let path = path.clone();
        let token = token.to_owned();
        Box::pin(async move {
            self.sweep().await;
            self.inner.unlock(&path, &token).await?;
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.remove(&token);
            Ok(())
        })
    }

    fn refresh(
        &'_ self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        let path = path.clone();
        let token = token.to_owned();
        Box::pin(async move {
            self.sweep().await;
            let timeout = self.granted(timeout);
            let lock = self.inner.refresh(&path, &token, Some(timeout)).await?;
            self.remember(&lock, timeout);
            Ok(lock)
        })
    }

    fn check(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let path = path.clone();
        let principal = principal.map(str::to_owned);
        let tokens = submitted_tokens.to_vec();
        Box::pin(async move {
            self.sweep().await;
            self.inner
                .check(&path, principal.as_deref(), ignore_principal, deep, &tokens)
                .await
        })
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let path = path.clone();
        Box::pin(async move {
            self.sweep().await;
            self.inner.discover(&path).await
        })
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let path = path.clone();
        Box::pin(async move {
            self.inner.delete(&path).await?;
            let gone = path.as_url_string();
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.retain(|_, (at, _)| !at.as_url_string().starts_with(&gone));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> DavPath {
        DavPath::new(p).expect("path")
    }

    #[tokio::test]
    async fn locks_are_capped_and_infinite_timeouts_bounded() {
        let locks = BoundedLocks::new(2, Duration::from_secs(60));
        let a = locks
            .lock(&path("/a"), None, None, None, true, false)
            .await
            .expect("first");
        assert_eq!(a.timeout, Some(Duration::from_secs(60)));
        locks
            .lock(
                &path("/b"),
                None,
                None,
                Some(Duration::from_secs(999_999)),
                true,
                false,
            )
            .await
            .expect("second");
        assert!(!locks.has_room());
        assert!(
            locks
                .lock(&path("/c"), None, None, None, true, false)
                .await
                .is_err()
        );
        locks.unlock(&path("/a"), &a.token).await.expect("unlock");
        assert!(locks.has_room());
    }

    #[tokio::test]
    async fn expired_locks_are_released() {
        let locks = BoundedLocks::new(1, Duration::from_secs(1));
        locks
            .lock(&path("/a"), None, None, None, false, false)
            .await
            .expect("lock");
        assert!(!locks.has_room());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(locks.has_room());
        // The exclusive lock is gone from the inner table too.
        locks
            .lock(&path("/a"), None, None, None, false, false)
            .await
            .expect("lock again after expiry");
    }
}
