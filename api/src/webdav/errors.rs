//! Service errors as `dav-server` errors: the kind of a code picks the error,
//! and `dav-server` picks the status per method.
use dav_server::fs::FsError;

use crate::service::error::{Code, Error, Kind};

/// Our errors as `dav-server` knows them (it picks the status per method:
/// a missing parent is `NotFound`, which MKCOL and PUT answer with 409).
pub fn fs_error(err: Error) -> FsError {
    match (err.code(), err.kind()) {
        (Code::ParentMissing, _) | (_, Kind::NotFound) => FsError::NotFound,
        (Code::InvalidMove, _) => FsError::Forbidden,
        (_, Kind::Conflict) => FsError::Exists,
        (_, Kind::Unauthenticated | Kind::Forbidden | Kind::Invalid | Kind::Malformed) => {
            FsError::Forbidden
        }
        (_, Kind::TooLarge) => FsError::TooLarge,
        (_, Kind::StorageFull) => FsError::InsufficientStorage,
        (_, Kind::ElsewhereServer) => FsError::IsRemote,
        _ => {
            err.log_if_internal("webdav");
            if !err.is_internal() {
                tracing::warn!(error = %err, "webdav operation failed");
            }
            FsError::GeneralFailure
        }
    }
}
