//! `dav-server`'s lock system over the services' lock table
//! ([`crate::service::files::dav_locks`]): locks live in the database, so a
//! lock taken on one node holds on all of them. This adapter only translates:
//! it bounds the timeout a client asks for (`Timeout: Infinite` included) and
//! turns paths and owner elements into plain values. A database error refuses
//! the operation (a lock it cannot check is treated as in the way).
use std::time::{Duration, SystemTime};

use dav_server::{
    davpath::DavPath,
    ls::{DavLock, DavLockSystem, LsFuture},
};
use xmltree::Element;

use crate::service::{
    Caller, Services,
    files::dav_locks::{self, LockRefusal, LockRequest},
};

/// One user's view of the shared lock table.
#[derive(Clone, Debug)]
pub struct SharedLocks {
    services: Services,
    caller: Caller,
    max: usize,
    max_timeout: Duration,
}

impl SharedLocks {
    pub fn new(services: Services, caller: Caller, max: usize, max_timeout: Duration) -> Self {
        Self {
            services,
            caller,
            max: max.max(1),
            max_timeout: max_timeout.max(Duration::from_secs(1)),
        }
    }

    /// Whether another lock may be taken now.
    pub async fn has_room(&self) -> bool {
        match self.services.dav_locks(&self.caller).await {
            Ok(locks) => locks.len() < self.max,
            Err(_) => false,
        }
    }

    fn granted(&self, asked: Option<Duration>) -> Duration {
        asked.map_or(self.max_timeout, |t| t.min(self.max_timeout))
    }
}

/// The decoded path, as the lock table keys it.
fn key(path: &DavPath) -> String {
    dav_locks::lock_path(&String::from_utf8_lossy(path.as_bytes()))
}

fn owner_xml(owner: Option<&Element>) -> Option<String> {
    let mut owner = owner?.clone();
    declare_prefixes(&mut owner);
    let mut out = Vec::new();
    owner.write(&mut out).ok()?;
    String::from_utf8(out).ok()
}

/// Bind every prefix an element (or one below it) uses to its namespace on
/// that element, so the element reads back alone: dav-server hands over the
/// owner with its prefix (`D:`) but the declaration on the request's root.
fn declare_prefixes(element: &mut Element) {
    if let (Some(prefix), Some(namespace)) = (&element.prefix, &element.namespace) {
        let declared = element
            .namespaces
            .get_or_insert_with(xmltree::Namespace::empty);
        declared.put(prefix.clone(), namespace.clone());
    }
    for child in &mut element.children {
        if let xmltree::XMLNode::Element(child) = child {
            declare_prefixes(child);
        }
    }
}

fn to_dav(lock: dav_locks::DavLock) -> DavLock {
    let path = DavPath::new(&lock.url).unwrap_or_else(|_| DavPath::new("/").expect("root"));
    let left = (lock.expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    DavLock {
        token: lock.token,
        path: Box::new(path),
        principal: lock.principal,
        owner: lock
            .owner
            .and_then(|xml| Element::parse(xml.as_bytes()).ok())
            .map(Box::new),
        timeout_at: Some(SystemTime::now() + left),
        timeout: Some(lock.timeout),
        shared: lock.shared,
        deep: lock.deep,
    }
}

/// The answer when the table cannot be read: a lock in the way of `path`.
fn unavailable(path: &DavPath) -> DavLock {
    DavLock {
        token: String::new(),
        path: Box::new(path.clone()),
        principal: None,
        owner: None,
        timeout_at: None,
        timeout: None,
        shared: false,
        deep: false,
    }
}

impl DavLockSystem for SharedLocks {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let request = LockRequest {
            path: key(path),
            url: path.as_url_string(),
            principal: principal.map(str::to_owned),
            owner: owner_xml(owner),
            timeout: self.granted(timeout),
            shared,
            deep,
        };
        let path = path.clone();
        Box::pin(async move {
            match self
                .services
                .dav_lock(&self.caller, request, self.max)
                .await
            {
                Ok(Ok(lock)) => Ok(to_dav(lock)),
                Ok(Err(LockRefusal::Conflict(lock))) => Err(to_dav(lock)),
                // The adapter refuses with 429 before this; a race lands here.
                Ok(Err(LockRefusal::Full)) | Err(_) => Err(unavailable(&path)),
            }
        })
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let path = key(path);
        let token = token.to_owned();
        Box::pin(async move {
            match self.services.dav_unlock(&self.caller, &path, &token).await {
                Ok(true) => Ok(()),
                _ => Err(()),
            }
        })
    }

    fn refresh(
        &'_ self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        let path = key(path);
        let token = token.to_owned();
        let timeout = self.granted(timeout);
        Box::pin(async move {
            match self
                .services
                .dav_refresh(&self.caller, &path, &token, timeout)
                .await
            {
                Ok(Some(lock)) => Ok(to_dav(lock)),
                _ => Err(()),
            }
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
        let dav_path = path.clone();
        let path = key(path);
        let principal = principal.map(str::to_owned);
        let tokens = submitted_tokens.to_vec();
        Box::pin(async move {
            match self
                .services
                .dav_check(
                    &self.caller,
                    &path,
                    deep,
                    principal.as_deref(),
                    ignore_principal,
                    &tokens,
                )
                .await
            {
                Ok(None) => Ok(()),
                Ok(Some(lock)) => Err(to_dav(lock)),
                Err(_) => Err(unavailable(&dav_path)),
            }
        })
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let path = key(path);
        Box::pin(async move {
            self.services
                .dav_discover(&self.caller, &path)
                .await
                .map(|locks| locks.into_iter().map(to_dav).collect())
                .unwrap_or_default()
        })
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let path = key(path);
        Box::pin(async move {
            self.services
                .dav_forget_locks(&self.caller, &path)
                .await
                .map_err(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_elements_survive_the_table() {
        let request = Element::parse(
            "<D:lockinfo xmlns:D=\"DAV:\"><D:owner><D:href>litmus test suite</D:href></D:owner></D:lockinfo>"
                .as_bytes(),
        )
        .expect("parse");
        let mut owner = request.get_child("owner").expect("owner").clone();
        owner.namespaces = None;
        let xml = owner_xml(Some(&owner)).expect("written");
        let back = Element::parse(xml.as_bytes()).expect("read back");
        assert_eq!(back.name, "owner", "{xml}");
        assert_eq!(back.prefix.as_deref(), Some("D"), "{xml}");
        let href = back.get_child("href").expect("href");
        assert_eq!(
            href.get_text().as_deref(),
            Some("litmus test suite"),
            "{xml}"
        );
    }
}
