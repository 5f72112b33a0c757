//! [`FerryFs`]: `dav-server`'s file system trait answered by service calls for
//! the authenticated caller. No rule lives here, only translation.
use axum::http::StatusCode;
use dav_server::{
    davpath::DavPath,
    fs::{
        DavDirEntry, DavFile, DavMetaData, DavProp, FsError, FsFuture, FsResult, FsStream,
        GuardedFileSystem, OpenOptions, ReadDirMeta,
    },
};
use futures_util::{FutureExt, stream};

use super::{
    errors::fs_error,
    file::{Meta, ReadFile, WriteFile},
};
use crate::service::{
    Caller, Services,
    files::dead_props::{DeadProp, PropPatch},
    files::tree::Entry,
};

/// The caller's tree as `dav-server` sees it.
#[derive(Clone, Debug)]
pub struct FerryFs {
    services: Services,
}

impl FerryFs {
    pub fn new(services: Services) -> Self {
        Self { services }
    }
}

/// The decoded path (`dav-server` has already stripped the prefix and
/// percent-decoding); non-UTF-8 names cannot exist here.
fn path_of(path: &DavPath) -> FsResult<String> {
    let raw = std::str::from_utf8(path.as_bytes()).map_err(|_| FsError::Forbidden)?;
    Ok(if raw.is_empty() {
        "/".into()
    } else {
        raw.into()
    })
}

/// One entry of a folder listing.
#[derive(Debug)]
struct DirEntry {
    name: Vec<u8>,
    meta: Meta,
}

impl DavDirEntry for DirEntry {
    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }

    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }
}

impl GuardedFileSystem<Caller> for FerryFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
        caller: &'a Caller,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            let path = path_of(path)?;
            if !options.write {
                let open = self
                    .services
                    .open_file(caller, &path, None)
                    .await
                    .map_err(fs_error)?;
                return Ok(
                    Box::new(ReadFile::new(open, self.services.metrics().clone()))
                        as Box<dyn DavFile>,
                );
            }
            let existing = self
                .services
                .entry_at(caller, &path)
                .await
                .map_err(fs_error)?;
            match existing {
                Some(Entry::Folder(_)) => return Err(FsError::Forbidden),
                Some(Entry::File(_)) if options.create_new => return Err(FsError::Exists),
                None if !options.create => return Err(FsError::NotFound),
                _ => {}
            }
            if options.append || !options.truncate {
                // Whole-file writes only: a partial PUT (it names a size or
                // appends) would need the old bytes; only LOCK opens this way
                // without either.
                if existing.is_some() || options.append || options.size.is_some() {
                    return Err(FsError::NotImplemented);
                }
                // LOCK on a free path makes an empty file there (RFC 4918 §7.3).
                let writer = self
                    .services
                    .write_file(caller, &path, Some(0))
                    .await
                    .map_err(fs_error)?;
                let file = writer.commit().await.map_err(fs_error)?;
                return Ok(Box::new(WriteFile::committed(&file)) as Box<dyn DavFile>);
            }
            let writer = self
                .services
                .write_file(caller, &path, options.size)
                .await
                .map_err(fs_error)?;
            Ok(
                Box::new(WriteFile::new(writer, self.services.metrics().clone()))
                    as Box<dyn DavFile>,
            )
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
        caller: &'a Caller,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let path = path_of(path)?;
            let entries = self
                .services
                .folder_entries(caller, &path)
                .await
                .map_err(fs_error)?;
            let entries: Vec<FsResult<Box<dyn DavDirEntry>>> = entries
                .into_iter()
                .map(|entry| {
                    let name = crate::service::files::paths::file_name(entry.path())
                        .as_bytes()
                        .to_vec();
                    Ok(Box::new(DirEntry {
                        name,
                        meta: Meta::from(&entry),
                    }) as Box<dyn DavDirEntry>)
                })
                .collect();
            Ok(Box::pin(stream::iter(entries)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(
        &'a self,
        path: &'a DavPath,
        caller: &'a Caller,
    ) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let path = path_of(path)?;
            match self.services.entry_at(caller, &path).await {
                Ok(Some(entry)) => Ok(Box::new(Meta::from(&entry)) as Box<dyn DavMetaData>),
                Ok(None) => Err(FsError::NotFound),
                Err(err) => Err(fs_error(err)),
            }
        }
        .boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath, caller: &'a Caller) -> FsFuture<'a, ()> {
        async move {
            let path = path_of(path)?;
            self.services
                .create_folder(caller, &path)
                .await
                .map(drop)
                .map_err(fs_error)
        }
        .boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath, caller: &'a Caller) -> FsFuture<'a, ()> {
        async move {
            let path = path_of(path)?;
            self.services
                .delete_entry(caller, &path)
                .await
                .map_err(fs_error)
        }
        .boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath, caller: &'a Caller) -> FsFuture<'a, ()> {
        async move {
            let path = path_of(path)?;
            self.services
                .delete_file(caller, &path)
                .await
                .map_err(fs_error)
        }
        .boxed()
    }

    fn rename<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        caller: &'a Caller,
    ) -> FsFuture<'a, ()> {
        async move {
            let (from, to) = (path_of(from)?, path_of(to)?);
            self.services
                .move_entry(caller, &from, &to)
                .await
                .map_err(fs_error)
        }
        .boxed()
    }

    fn copy<'a>(
        &'a self,
        from: &'a DavPath,
        to: &'a DavPath,
        caller: &'a Caller,
    ) -> FsFuture<'a, ()> {
        async move {
            let (from, to) = (path_of(from)?, path_of(to)?);
            self.services
                .copy_file(caller, &from, &to)
                .await
                .map(drop)
                .map_err(fs_error)
        }
        .boxed()
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
        _caller: &'a Caller,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        async { true }.boxed()
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
        caller: &'a Caller,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move {
            let path = path_of(path)?;
            let answer = patch
                .iter()
                .map(|(_, p)| (StatusCode::OK, without_value(p)))
                .collect();
            let changes = patch
                .into_iter()
                .map(|(set, p)| {
                    if set {
                        PropPatch::Set(DeadProp {
                            namespace: p.namespace,
                            name: p.name,
                            prefix: p.prefix,
                            xml: p.xml,
                        })
                    } else {
                        PropPatch::Remove {
                            namespace: p.namespace,
                            name: p.name,
                        }
                    }
                })
                .collect();
            self.services
                .patch_dead_props(caller, &path, changes)
                .await
                .map_err(fs_error)?;
            Ok(answer)
        }
        .boxed()
    }

    fn get_props<'a>(
        &'a self,
        path: &'a DavPath,
        do_content: bool,
        caller: &'a Caller,
    ) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            let path = path_of(path)?;
            let props = self
                .services
                .dead_props(caller, &path)
                .await
                .map_err(fs_error)?;
            Ok(props
                .into_iter()
                .map(|p| DavProp {
                    name: p.name,
                    prefix: p.prefix,
                    namespace: p.namespace,
                    xml: if do_content { p.xml } else { None },
                })
                .collect())
        }
        .boxed()
    }

    fn get_prop<'a>(
        &'a self,
        path: &'a DavPath,
        prop: DavProp,
        caller: &'a Caller,
    ) -> FsFuture<'a, Vec<u8>> {
        async move {
            let path = path_of(path)?;
            let props = self
                .services
                .dead_props(caller, &path)
                .await
                .map_err(fs_error)?;
            props
                .into_iter()
                .find(|p| p.name == prop.name && p.namespace == prop.namespace)
                .and_then(|p| p.xml)
                .ok_or(FsError::NotFound)
        }
        .boxed()
    }

    fn get_quota<'a>(&'a self, caller: &'a Caller) -> FsFuture<'a, (u64, Option<u64>)> {
        async move {
            let (used, free) = self
                .services
                .storage_usage(caller)
                .await
                .map_err(fs_error)?;
            Ok((used, Some(used.saturating_add(free))))
        }
        .boxed()
    }
}

fn without_value(p: &DavProp) -> DavProp {
    DavProp {
        name: p.name.clone(),
        prefix: p.prefix.clone(),
        namespace: p.namespace.clone(),
        xml: None,
    }
}
