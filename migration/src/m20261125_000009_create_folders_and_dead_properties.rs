//! Folders as first-class entries (WebDAV collections, empty ones included), the
//! parent folder of every file for cheap directory listings, and WebDAV dead
//! properties.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `path`'s parent folder in SQL that SQLite and PostgreSQL both run: `rtrim`
/// with every non-`/` character of the path strips the last segment.
const PARENT_OF_PATH: &str = "CASE WHEN length(rtrim(path, replace(path, '/', ''))) <= 1 THEN '/' \
     ELSE substr(rtrim(path, replace(path, '/', '')), 1, length(rtrim(path, replace(path, '/', ''))) - 1) END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Folders::Table)
                    .col(uuid(Folders::UserId))
                    .col(string(Folders::Path))
                    .col(string(Folders::Parent))
                    .col(timestamp_with_time_zone(Folders::CreatedAt))
                    .primary_key(Index::create().col(Folders::UserId).col(Folders::Path))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_folders_parent")
                    .table(Folders::Table)
                    .col(Folders::UserId)
                    .col(Folders::Parent)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeadProperties::Table)
                    .col(uuid(DeadProperties::UserId))
                    .col(string(DeadProperties::Path))
                    .col(string(DeadProperties::Namespace))
                    .col(string(DeadProperties::Name))
                    .col(string_null(DeadProperties::Prefix))
                    .col(binary_null(DeadProperties::Xml))
                    .primary_key(
                        Index::create()
                            .col(DeadProperties::UserId)
                            .col(DeadProperties::Path)
                            .col(DeadProperties::Namespace)
                            .col(DeadProperties::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FileMetadata::Table)
                    .add_column(string_null(FileMetadata::Parent))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE file_metadata SET parent = {PARENT_OF_PATH}"
        ))
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_file_metadata_parent")
                    .table(FileMetadata::Table)
                    .col(FileMetadata::UserId)
                    .col(FileMetadata::Parent)
                    .to_owned(),
            )
            .await?;
        // Every folder that holds a live file becomes an entry, up to the root.
        let now =
            if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
                "now()"
            } else {
                "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
            };
        loop {
            let added = db
                .execute_unprepared(&format!(
                    "INSERT INTO folders (user_id, path, parent, created_at) \
                     SELECT DISTINCT user_id, parent, {parent_of_parent}, {now} FROM ( \
                       SELECT user_id, parent FROM file_metadata WHERE deleted_at IS NULL \
                       UNION SELECT user_id, parent FROM folders \
                     ) AS holders \
                     WHERE parent <> '/' AND NOT EXISTS ( \
                       SELECT 1 FROM folders f WHERE f.user_id = holders.user_id AND f.path = holders.parent)",
                    parent_of_parent = PARENT_OF_PATH.replace("path", "parent"),
                ))
                .await?;
            if added.rows_affected() == 0 {
                break;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_file_metadata_parent")
                    .table(FileMetadata::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FileMetadata::Table)
                    .drop_column(FileMetadata::Parent)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(DeadProperties::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Folders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Folders {
    Table,
    UserId,
    Path,
    Parent,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum DeadProperties {
    Table,
    UserId,
    Path,
    Namespace,
    Name,
    Prefix,
    Xml,
}

#[derive(DeriveIden)]
enum FileMetadata {
    Table,
    UserId,
    Parent,
}
