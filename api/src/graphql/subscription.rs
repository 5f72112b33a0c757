//! Subscriptions, fed by the services' event bus.
use crate::graphql::errors::ToGraphql;
use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::{
    context,
    query::{user_of, uuid_of},
    types::{BandwidthUsage, SyncRun, UploadProgress},
};
use crate::{
    graphql::errors::GraphQLResult,
    service::{Caller, events::UploadEvent, sync_runs::RunEvent},
};

/// The root of every subscription.
#[derive(Debug, Default)]
pub struct SubscriptionRoot;

/// Upload events `keep` accepts, ending after the first final one when `until_final`.
fn upload_events(
    receiver: tokio::sync::broadcast::Receiver<UploadEvent>,
    keep: impl Fn(&UploadEvent) -> bool + Send + Sync + 'static,
    until_final: bool,
) -> impl Stream<Item = UploadProgress> {
    let keep = std::sync::Arc::new(keep);
    stream::unfold((receiver, false), move |(mut receiver, finished)| {
        let keep = keep.clone();
        async move {
            if finished {
                return None;
            }
            loop {
                match receiver.recv().await {
                    Ok(event) if keep(&event) => {
                        let last = until_final
                            && matches!(
                                event.progress.status,
                                "completed" | "failed" | "cancelled"
                            );
                        return Some((UploadProgress::from(event.progress), (receiver, last)));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

/// Run events `keep` accepts, as GraphQL runs.
fn run_events(
    receiver: tokio::sync::broadcast::Receiver<RunEvent>,
    keep: impl Fn(&RunEvent) -> bool + Send + Sync + 'static,
) -> impl Stream<Item = SyncRun> {
    let keep = std::sync::Arc::new(keep);
    stream::unfold(receiver, move |mut receiver| {
        let keep = keep.clone();
        async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if keep(&event) => {
                        return Some((SyncRun::from(event.run), receiver));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

fn owns(caller: &Caller, event: &UploadEvent) -> bool {
    caller.sees_device(event.user_id, event.device)
}

#[Subscription]
impl SubscriptionRoot {
    /// One event per stored chunk of the upload, then a final one with status
    /// `COMPLETED`, `FAILED` or `CANCELLED`, after which the stream ends.
    async fn upload_progress(
        &self,
        ctx: &Context<'_>,
        upload_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = UploadProgress> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let id: Uuid = uuid_of(&upload_id, "upload")?;
        // Subscribe first, then check access: no event slips between the two.
        let receiver = services.subscribe_uploads();
        services.upload_progress(caller, id).await.gql()?;
        let caller = caller.clone();
        Ok(upload_events(
            receiver,
            move |e| e.progress.upload_id == id && owns(&caller, e),
            true,
        ))
    }

    /// Every upload event of the caller's uploads (admins: everyone's).
    async fn uploads(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = UploadProgress> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let receiver = services.subscribe_uploads();
        let caller = caller.clone();
        Ok(upload_events(receiver, move |e| owns(&caller, e), false).boxed())
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
        let owner = user_of(user_id)?.unwrap_or(caller.user_id);
        let receiver = services.subscribe_runs();
        let device = services
            .resolve_device(caller, owner, &device_id)
            .await
            .gql()?
            .device_id;
        Ok(run_events(receiver, move |e| {
            e.run.user_id == owner && e.run.device_id == device && e.run.status == "requested"
        }))
    }

    /// Every recorded run of the caller's devices' schedules, failed ones
    /// included (admins: all).
    async fn schedule_runs(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = SyncRun> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let receiver = services.subscribe_runs();
        let caller = caller.clone();
        Ok(run_events(receiver, move |e| {
            caller.sees_device_named(e.run.user_id, &e.run.device_id)
        }))
    }

    /// Live throughput, about once a second per user and direction while
    /// bytes move: the caller's own (admins: everyone's, or `userId`'s).
    async fn bandwidth_usage(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = BandwidthUsage> + use<>> {
        let (services, caller) = context(ctx).gql()?;
        let only = user_of(user_id)?;
        if only.is_some_and(|u| !caller.can_access(u)) {
            return Err(crate::service::error::Error::not_found("user").graphql());
        }
        let caller = caller.clone();
        let receiver = services.subscribe_bandwidth();
        Ok(stream::unfold(receiver, move |mut receiver| {
            let caller = caller.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(sample)
                            if caller.can_access(sample.user_id)
                                && only.is_none_or(|u| u == sample.user_id) =>
                        {
                            return Some((BandwidthUsage::from(sample), receiver));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}
