//! Ferry's schema, one migration per change, identical on SQLite and PostgreSQL.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_users;
mod m20261124_000002_create_devices;
mod m20261124_000003_create_api_tokens;
mod m20261124_000004_create_files;
mod m20261124_000005_create_uploads;
mod m20261124_000006_create_sync_settings;
mod m20261124_000007_create_audit_log;
mod m20261125_000008_create_schedule_runs;
mod m20261125_000009_create_folders_and_dead_properties;
mod m20261202_000010_create_tree_changes;
mod m20261207_000011_create_content_blocks;
mod m20261207_000012_create_upload_blocks_and_gc_runs;
mod m20261208_000013_create_cluster_tables;
mod m20261209_000014_create_appended_uploads;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_users::Migration),
            Box::new(m20261124_000002_create_devices::Migration),
            Box::new(m20261124_000003_create_api_tokens::Migration),
            Box::new(m20261124_000004_create_files::Migration),
            Box::new(m20261124_000005_create_uploads::Migration),
            Box::new(m20261124_000006_create_sync_settings::Migration),
            Box::new(m20261124_000007_create_audit_log::Migration),
            Box::new(m20261125_000008_create_schedule_runs::Migration),
            Box::new(m20261125_000009_create_folders_and_dead_properties::Migration),
            Box::new(m20261202_000010_create_tree_changes::Migration),
            Box::new(m20261207_000011_create_content_blocks::Migration),
            Box::new(m20261207_000012_create_upload_blocks_and_gc_runs::Migration),
            Box::new(m20261208_000013_create_cluster_tables::Migration),
            Box::new(m20261209_000014_create_appended_uploads::Migration),
        ]
    }
}
