//! Ferry's database rows as sea-orm models.
//!
//! Only the shape of the tables lives here: no business rules and no API types
//! (the service layer in `api/src/service/` owns both).
#![forbid(unsafe_code)]

pub mod api_token;
pub mod appended_upload;
pub mod audit_log;
pub mod bandwidth_share;
pub mod blob;
pub mod chunked_upload;
pub mod content_block;
pub mod dead_property;
pub mod device;
pub mod enums;
pub mod file_metadata;
pub mod file_version;
pub mod folder;
pub mod gc_run;
pub mod job_claim;
pub mod schedule_run;
pub mod selective_sync;
pub mod sync_bandwidth_limit;
pub mod sync_run_change;
pub mod sync_schedule;
pub mod tree_change;
pub mod upload_block;
pub mod upload_chunk;
pub mod user;
pub mod webdav_lock;
