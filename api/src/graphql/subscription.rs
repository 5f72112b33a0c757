//! Subscriptions, fed by the services' event bus.
use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::{
    context,
    query::{user_of, uuid_of},
    types::{BandwidthUsage, SyncRun, UploadProgress},
};
use crate::graphql::errors::GraphQLResult;

/// The root of every subscription.
#[derive(Debug, Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// One event per stored chunk of the upload (and one each time it is paused
    /// or resumed), then a final one with status `COMPLETED`, `FAILED` or
    /// `CANCELLED`, after which the stream ends.
    async fn upload_progress(
        &self,
        ctx: &Context<'_>,
        upload_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = UploadProgress> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let id: Uuid = uuid_of(&upload_id, "upload")?;
        let feed = services.watch_upload(caller, id).await.gql()?;
        Ok(feed.map(UploadProgress::from))
    }

    /// Every upload event of the caller's uploads (admins: everyone's).
    async fn uploads(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = UploadProgress> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services.watch_uploads(caller).map(UploadProgress::from))
    }

    /// Sync requests for one of the caller's devices (admins may name the
    /// owner): each run of its schedules, with the plan in `changes`.
    async fn sync_requested(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        user_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = SyncRun> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let owner = user_of(user_id)?;
        let feed = services
            .watch_sync_requests(caller, owner, &device_id)
            .await
            .gql()?;
        Ok(feed.map(SyncRun::from))
    }

    /// Every change of the caller's tree that their device `deviceId` holds
    /// (its selective sync applied), from now on, in commit order.
    async fn file_changes(
        &self,
        ctx: &Context<'_>,
        device_id: String,
    ) -> async_graphql::Result<impl Stream<Item = super::changes::FileChange> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let feed = services.watch_changes(caller, &device_id).await.gql()?;
        Ok(feed.map(Into::into))
    }

    /// Every recorded run of the caller's devices' schedules, failed ones
    /// included (admins: all).
    async fn schedule_runs(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = SyncRun> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services.watch_runs(caller).map(SyncRun::from))
    }

    /// Live throughput, about once a second per user and direction while
    /// bytes move: the caller's own (admins: everyone's, or `userId`'s).
    async fn bandwidth_usage(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = BandwidthUsage> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let feed = services.watch_bandwidth(caller, user_of(user_id)?).gql()?;
        Ok(feed.map(BandwidthUsage::from))
    }
}
