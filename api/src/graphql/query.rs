//! Queries.
use crate::graphql::errors::ToGraphql;
use crate::service::Code;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{context, plain::Plain, types::*};
use crate::{
    graphql::errors::GraphQLResult,
    service::audit::AuditQuery,
    service::error::Error,
    service::sync::schedules::{NewSchedule, preview},
};

/// Parse an `ID` that names a UUID; anything else is unknown (404).
pub(crate) fn uuid_of(id: &ID, what: &'static str) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| Error::not_found(what).graphql())
}

/// An optional user `ID` argument (admins naming another user).
pub(crate) fn user_of(id: Option<ID>) -> async_graphql::Result<Option<Uuid>> {
    id.map(|id| uuid_of(&id, "user")).transpose()
}

/// A calendar schedule to preview.
#[derive(InputObject, Debug)]
pub struct SchedulePreviewInput {
    pub schedule_type: ScheduleType,
    /// `HH:MM`.
    pub time_of_day: String,
    /// 0 = Monday … 6 = Sunday (weekly).
    pub day_of_week: Option<i32>,
    /// 1–31 (monthly; the month's last day when it has fewer).
    pub day_of_month: Option<i32>,
    /// IANA zone, default UTC.
    pub timezone: Option<String>,
}

/// The root of every query.
#[derive(Debug, Default)]
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// Who the caller is.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let (_, caller) = context(ctx).gql()?;
        Ok(Me {
            id: ID(caller.user_id.to_string()),
            username: caller.username.clone(),
            role: caller.role.into(),
            device_id: caller.device.as_ref().map(|(_, id)| id.clone()),
        })
    }

    /// The caller's unfinished uploads, newest first (admins: everyone's).
    async fn uploads(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Plain<UploadProgress>>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .list_uploads(caller)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// One upload with its progress.
    async fn upload(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<UploadProgress> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .upload_progress(caller, uuid_of(&id, "upload")?)
            .await
            .gql()?
            .into())
    }

    /// What is directly inside the caller's folder `path` (404 unless a folder).
    async fn folder(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "/")] path: String,
    ) -> async_graphql::Result<Folder> {
        use crate::service::files::tree::Entry;
        let (services, caller) = context(ctx).gql()?;
        let entries = services.folder_entries(caller, &path).await.gql()?;
        let deleted = services.deleted_files_in(caller, &path).await.gql()?;
        let (mut folders, mut files) = (Vec::new(), Vec::new());
        for entry in entries {
            match entry {
                Entry::Folder(f) => folders.push(f.path),
                Entry::File(f) => files.push(f.into()),
            }
        }
        Ok(Folder {
            path: crate::service::files::paths::normalize(&path).gql()?,
            folders,
            files,
            deleted_files: deleted.into_iter().map(Into::into).collect(),
        })
    }

    /// The versions of the caller's file at `path`, newest first (a deleted
    /// file keeps its history; at most 1,000).
    async fn file_versions(
        &self,
        ctx: &Context<'_>,
        path: String,
    ) -> async_graphql::Result<Vec<Plain<FileVersion>>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .file_versions(caller, &path)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// The caller's files at or below the folder `prefix`.
    async fn files(
        &self,
        ctx: &Context<'_>,
        prefix: Option<String>,
    ) -> async_graphql::Result<Vec<Plain<File>>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .list_files(caller, prefix.as_deref())
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// The paths of a user's folders by path (the caller's; admins may name
    /// the owner), at most 10,000; the root is not listed.
    async fn folders(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Vec<String>> {
        let (services, caller) = context(ctx).gql()?;
        services.folder_paths(caller, user_of(user_id)?).await.gql()
    }

    /// Schedules of the caller's devices (admins: all), optionally of one device.
    async fn schedules(
        &self,
        ctx: &Context<'_>,
        device_id: Option<String>,
    ) -> async_graphql::Result<Vec<Plain<Schedule>>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .list_schedules(caller, device_id.as_deref())
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// The changes feed of the caller's tree for their device `deviceId`:
    /// without `after`, the whole tree first; then every change, in commit
    /// order, as the device's selective sync sees it (REST: `GET /api/sync/changes`).
    async fn changes(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        after: Option<String>,
        #[graphql(default = 1000)] first: u32,
    ) -> async_graphql::Result<super::changes::ChangePage> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .changes(caller, &device_id, after.as_deref(), Some(first), None)
            .await
            .gql()?
            .into())
    }

    /// One sync run with its plan (`changes`).
    async fn sync_run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<SyncRun> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .sync_run(caller, uuid_of(&id, "sync run")?)
            .await
            .gql()?
            .into())
    }

    /// Sync runs of the caller's devices (admins: all), newest first, optionally
    /// of one schedule or device; `after` is the `endCursor` of the previous page.
    async fn schedule_runs(
        &self,
        ctx: &Context<'_>,
        schedule_id: Option<ID>,
        device_id: Option<String>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<SyncRunConnection> {
        let (services, caller) = context(ctx).gql()?;
        let schedule_id = schedule_id.map(|id| uuid_of(&id, "schedule")).transpose()?;
        let after = after
            .map(|cursor| {
                uuid::Uuid::parse_str(&cursor)
                    .map_err(|_| Error::new(Code::InvalidCursor, "unknown cursor").graphql())
            })
            .transpose()?;
        let first = u64::try_from(first)
            .map_err(|_| Error::new(Code::InvalidCount, "first must not be negative").graphql())?;
        let (runs, has_next_page) = services
            .list_sync_runs(caller, schedule_id, device_id.as_deref(), after, first)
            .await
            .gql()?;
        let end_cursor = runs.last().map(|r| r.run_id.to_string());
        let start_cursor = runs.first().map(|r| r.run_id.to_string());
        Ok(SyncRunConnection {
            nodes: runs.into_iter().map(Into::into).collect(),
            page_info: PageInfo {
                has_next_page,
                end_cursor,
                has_previous_page: after.is_some(),
                start_cursor,
            },
        })
    }

    /// The next `count` runs strictly after `after`: the function that sets `nextRunAt`.
    async fn schedule_preview(
        &self,
        ctx: &Context<'_>,
        input: SchedulePreviewInput,
        after: DateTime<Utc>,
        count: i32,
    ) -> async_graphql::Result<Vec<DateTime<Utc>>> {
        context(ctx).gql()?;
        let request = NewSchedule {
            schedule_type: entity::enums::ScheduleType::from(input.schedule_type)
                .as_str()
                .to_owned(),
            time_of_day: Some(input.time_of_day),
            day_of_week: input.day_of_week,
            day_of_month: input.day_of_month,
            timezone: input.timezone,
            ..Default::default()
        };
        let count = usize::try_from(count)
            .map_err(|_| Error::new(Code::InvalidCount, "count must not be negative").graphql())?;
        preview(&request, after, count).gql()
    }

    /// A device's selective-sync folders (admins may name the owner).
    async fn selective_sync(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Vec<Plain<SyncFolder>>> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        Ok(services
            .list_selective_sync(caller, owner, &device_id)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// Whether each path syncs to the device.
    async fn selective_sync_check(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        paths: Vec<String>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Vec<Plain<PathDecision>>> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        Ok(services
            .check_selective_sync(caller, owner, &device_id, &paths)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// Every user (admin).
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Plain<User>>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .list_users(Some(caller))
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// Every user's devices (admin).
    async fn all_devices(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Plain<Device>>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .list_all_devices(caller)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// A user's devices (the caller's; admins may name anyone).
    async fn devices(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Vec<Plain<Device>>> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        Ok(services
            .list_devices(caller, owner)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// A user's API tokens (the caller's; admins may name anyone), newest first.
    async fn tokens(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Vec<Plain<Token>>> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        Ok(services
            .list_tokens(caller, owner)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// The block collector's latest runs, newest first (admin; at most 100).
    async fn storage_reports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<Plain<StorageReport>>> {
        let (services, caller) = context(ctx).gql()?;
        let first = u64::try_from(first).unwrap_or(1);
        Ok(services
            .storage_reports(caller, first)
            .await
            .gql()?
            .into_iter()
            .map(Plain::from_answer)
            .collect())
    }

    /// The audit log, newest first (admins: everything; users: their own actions):
    /// `first` entries older than the cursor `after`, or newer than `before` (the
    /// previous page). Filters: `userId` (entries by or about that user), `action`
    /// (`user.created`, or `user` for every `user.*`), `since` (at or after) and
    /// `until` (before).
    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
        before: Option<String>,
        user_id: Option<ID>,
        action: Option<String>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<AuditLogConnection> {
        let (services, caller) = context(ctx).gql()?;
        let cursor = |raw: Option<String>| {
            raw.map(|c| {
                c.parse::<i64>()
                    .map_err(|_| Error::new(Code::InvalidCursor, "unknown cursor").graphql())
            })
            .transpose()
        };
        let first = u64::try_from(first)
            .map_err(|_| Error::new(Code::InvalidCount, "first must not be negative").graphql())?;
        let query = AuditQuery {
            older_than: cursor(after)?,
            newer_than: cursor(before)?,
            first,
            user: user_of(user_id)?,
            action,
            since,
            until,
        };
        let page = services.audit_log(caller, query).await.gql()?;
        let end_cursor = page.records.last().map(|r| r.id.to_string());
        let start_cursor = page.records.first().map(|r| r.id.to_string());
        Ok(AuditLogConnection {
            nodes: page.records.into_iter().map(Into::into).collect(),
            page_info: PageInfo {
                has_next_page: page.has_older,
                end_cursor,
                has_previous_page: page.has_newer,
                start_cursor,
            },
        })
    }

    /// A user's bandwidth limit (the caller's; admins may name anyone).
    async fn bandwidth_limit(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<BandwidthLimit> {
        let (services, caller) = context(ctx).gql()?;
        let user = user_of(user_id)?;
        Ok(services.bandwidth_limit(caller, user).await.gql()?.into())
    }
}
