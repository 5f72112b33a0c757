//! Mutations: everything REST can change, over the same services.
use async_graphql::{Context, ID, InputObject, MergedObject, Object};

use super::{
    context,
    query::{user_of, uuid_of},
    types::*,
};
use crate::{
    graphql::errors::GraphQLResult,
    service::{
        bandwidth::SetLimit,
        sync::schedules::{NewSchedule, SchedulePatch},
        sync::selective::Folder,
    },
};

/// A bandwidth limit to set.
#[derive(InputObject, Debug)]
pub struct BandwidthLimitInput {
    /// Another user's (admins only); default the caller.
    pub user_id: Option<ID>,
    pub upload_speed_limit: Option<ByteCount>,
    pub download_speed_limit: Option<ByteCount>,
    pub throttle_enabled: bool,
    pub throttle_start_hour: Option<i32>,
    pub throttle_end_hour: Option<i32>,
    pub timezone: Option<String>,
}

/// One folder of a selective-sync configuration.
#[derive(InputObject, Debug)]
pub struct SyncFolderInput {
    pub path: String,
    #[graphql(default = true)]
    pub enabled: bool,
    #[graphql(default = true)]
    pub include_subfolders: bool,
}

/// A schedule to create.
#[derive(InputObject, Debug)]
pub struct CreateScheduleInput {
    pub device_id: String,
    /// The device's owner (default the caller).
    pub user_id: Option<ID>,
    pub schedule_type: ScheduleType,
    pub time_of_day: Option<String>,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub timezone: Option<String>,
    #[graphql(default)]
    pub sync_deletions: bool,
    pub resolve_conflicts: Option<ResolveConflicts>,
    pub debounce_seconds: Option<i32>,
}

/// Fields of a schedule to change; omitted ones keep their value.
#[derive(InputObject, Debug)]
pub struct UpdateScheduleInput {
    pub schedule_type: Option<ScheduleType>,
    pub time_of_day: Option<String>,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub timezone: Option<String>,
    pub sync_deletions: Option<bool>,
    pub resolve_conflicts: Option<ResolveConflicts>,
    pub debounce_seconds: Option<i32>,
}

// The core mutations and the account administration of `accounts.rs`.
/// The root of every mutation.
#[derive(MergedObject, Debug, Default)]
pub struct MutationRoot(CoreMutations, super::accounts::AccountMutations);

/// Sign-in, settings, schedules, devices, uploads and files.
#[derive(Debug, Default)]
pub struct CoreMutations;

#[Object]
impl CoreMutations {
    /// Check a username and password and issue a token (bound to `deviceId`, which is
    /// registered if new); the same as `POST /api/auth/login`. No bearer needed.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
        device_id: Option<String>,
        device_name: Option<String>,
    ) -> async_graphql::Result<LoginPayload> {
        let services = ctx
            .data::<crate::service::Services>()
            .map_err(|_| crate::service::error::Error::internal("schema without services"))
            .gql()?;
        let result = services
            .login(crate::service::identity::LoginRequest {
                username,
                password,
                device_id,
                device_name,
                platform: None,
                address: ctx.data_opt::<super::ClientAddress>().map(|a| a.0),
            })
            .await
            .gql()?;
        Ok(LoginPayload {
            token: result.token,
            expires_at: result.expires_at,
            user: Me {
                id: ID(result.user.id.to_string()),
                username: result.user.username,
                role: result.user.role.into(),
                device_id: None,
            },
        })
    }

    /// Revoke the token this request was made with (log out).
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let (services, _) = context(ctx).gql()?;
        let token = ctx
            .data_opt::<super::BearerToken>()
            .ok_or(crate::service::error::Error::unauthorized(
                "missing bearer token",
            ))
            .gql()?;
        services.revoke_bearer(&token.0).await.gql()?;
        Ok(true)
    }

    /// Set a bandwidth limit (one's own; admins: anyone's).
    async fn set_bandwidth_limit(
        &self,
        ctx: &Context<'_>,
        input: BandwidthLimitInput,
    ) -> async_graphql::Result<BandwidthLimit> {
        let (services, caller) = context(ctx).gql()?;
        let request = SetLimit {
            user_id: user_of(input.user_id)?,
            upload_speed_limit: input.upload_speed_limit.map(|b| b.0),
            download_speed_limit: input.download_speed_limit.map(|b| b.0),
            throttle_enabled: input.throttle_enabled,
            throttle_start_hour: input.throttle_start_hour,
            throttle_end_hour: input.throttle_end_hour,
            timezone: input.timezone,
        };
        Ok(services
            .set_bandwidth_limit(caller, request)
            .await
            .gql()?
            .into())
    }

    /// Replace a device's selective-sync folders; returns how many are configured.
    async fn configure_selective_sync(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        folders: Vec<SyncFolderInput>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<i32> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        let folders = folders
            .into_iter()
            .map(|f| Folder {
                path: f.path,
                enabled: f.enabled,
                include_subfolders: f.include_subfolders,
            })
            .collect();
        let configured = services
            .configure_selective_sync(caller, owner, &device_id, folders)
            .await
            .gql()?;
        Ok(i32::try_from(configured).unwrap_or(i32::MAX))
    }

    /// Create a schedule (admin).
    async fn create_schedule(
        &self,
        ctx: &Context<'_>,
        input: CreateScheduleInput,
    ) -> async_graphql::Result<Schedule> {
        let (services, caller) = context(ctx).gql()?;
        let request = NewSchedule {
            device_id: input.device_id,
            user_id: user_of(input.user_id)?,
            schedule_type: entity::enums::ScheduleType::from(input.schedule_type)
                .as_str()
                .to_owned(),
            time_of_day: input.time_of_day,
            day_of_week: input.day_of_week,
            day_of_month: input.day_of_month,
            timezone: input.timezone,
            sync_deletions: input.sync_deletions,
            resolve_conflicts: input
                .resolve_conflicts
                .map(|r| entity::enums::ResolveConflicts::from(r).as_str().to_owned()),
            debounce_seconds: input.debounce_seconds,
        };
        Ok(services
            .create_schedule(caller, request)
            .await
            .gql()?
            .into())
    }

    /// Change a schedule (admin); `nextRunAt` is recomputed.
    async fn update_schedule(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateScheduleInput,
    ) -> async_graphql::Result<Schedule> {
        let (services, caller) = context(ctx).gql()?;
        let patch = SchedulePatch {
            schedule_type: input
                .schedule_type
                .map(|t| entity::enums::ScheduleType::from(t).as_str().to_owned()),
            time_of_day: input.time_of_day,
            day_of_week: input.day_of_week,
            day_of_month: input.day_of_month,
            timezone: input.timezone,
            sync_deletions: input.sync_deletions,
            resolve_conflicts: input
                .resolve_conflicts
                .map(|r| entity::enums::ResolveConflicts::from(r).as_str().to_owned()),
            debounce_seconds: input.debounce_seconds,
        };
        Ok(services
            .update_schedule(caller, uuid_of(&id, "schedule")?, patch)
            .await
            .gql()?
            .into())
    }

    /// Apply version retention and delete unreferenced blocks now (admin).
    async fn collect_garbage(&self, ctx: &Context<'_>) -> async_graphql::Result<StorageReport> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services.collect_garbage(Some(caller)).await.gql()?.into())
    }

    /// Delete a schedule (admin).
    async fn delete_schedule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let (services, caller) = context(ctx).gql()?;
        services
            .delete_schedule(caller, uuid_of(&id, "schedule")?)
            .await
            .gql()?;
        Ok(true)
    }

    /// Enable a schedule (admin).
    async fn enable_schedule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Schedule> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .set_schedule_enabled(caller, uuid_of(&id, "schedule")?, true)
            .await
            .gql()?
            .into())
    }

    /// Disable a schedule (admin).
    async fn disable_schedule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Schedule> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .set_schedule_enabled(caller, uuid_of(&id, "schedule")?, false)
            .await
            .gql()?
            .into())
    }

    /// Run a schedule now (admin): records a `MANUAL` run and tells the device;
    /// the schedule's next slot stays as it is.
    async fn run_schedule_now(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<SyncRun> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .run_schedule_now(caller, uuid_of(&id, "schedule")?)
            .await
            .gql()?
            .into())
    }

    /// The device acknowledges a sync run: its next plan starts where this one ended.
    async fn complete_sync_run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<SyncRun> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .complete_sync_run(caller, uuid_of(&id, "sync run")?)
            .await
            .gql()?
            .into())
    }

    /// Rename a device (the caller's; admins may name the owner).
    async fn rename_device(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        name: String,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Device> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        Ok(services
            .rename_device(caller, owner, &device_id, &name)
            .await
            .gql()?
            .into())
    }

    /// Remove a device: its unfinished uploads are cancelled, its tokens,
    /// schedules and selective sync removed.
    async fn remove_device(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        user_id: Option<ID>,
    ) -> async_graphql::Result<bool> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        services
            .remove_device(caller, owner, &device_id)
            .await
            .gql()?;
        Ok(true)
    }

    /// Revoke a token (one's own; admins: anyone's).
    async fn revoke_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let (services, caller) = context(ctx).gql()?;
        services
            .revoke_token(caller, uuid_of(&id, "token")?)
            .await
            .gql()?;
        Ok(true)
    }

    /// Pause an upload.
    async fn pause_upload(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<UploadProgress> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .pause_upload(caller, uuid_of(&id, "upload")?)
            .await
            .gql()?
            .into())
    }

    /// Resume a paused upload (checking the resume token when given).
    async fn resume_upload(
        &self,
        ctx: &Context<'_>,
        id: ID,
        resume_token: Option<String>,
    ) -> async_graphql::Result<UploadProgress> {
        let (services, caller) = context(ctx).gql()?;
        let progress = services
            .resume_upload(caller, uuid_of(&id, "upload")?, resume_token.as_deref())
            .await
            .gql()?;
        Ok(progress.into())
    }

    /// Delete one of the caller's files (a tombstone that deletion sync carries).
    async fn delete_file(&self, ctx: &Context<'_>, path: String) -> async_graphql::Result<bool> {
        let (services, caller) = context(ctx).gql()?;
        services.delete_file(caller, &path).await.gql()?;
        Ok(true)
    }

    /// Restore `version` of one of the caller's files: its bytes become the
    /// next version (a deleted file comes back).
    async fn restore_file_version(
        &self,
        ctx: &Context<'_>,
        path: String,
        version: i32,
    ) -> async_graphql::Result<File> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .restore_version(caller, &path, version)
            .await
            .gql()?
            .into())
    }

    /// Cancel an upload: its staged chunks are deleted.
    async fn cancel_upload(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let (services, caller) = context(ctx).gql()?;
        services
            .cancel_upload(caller, uuid_of(&id, "upload")?)
            .await
            .gql()?;
        Ok(true)
    }
}
