//! Live feeds for a caller: the event bus filtered by what the caller may see.
//! Each feed subscribes before it checks access, so no event slips between the
//! two; a subscriber too slow for the bus skips ahead instead of stalling it.
use futures_util::{StreamExt, stream, stream::BoxStream};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uuid::Uuid;

use crate::service::{
    Caller, Services, bandwidth::monitor::BandwidthSample, error::Result, sync::runs::SyncRun,
    uploads::UploadProgress,
};
use entity::enums::{RunStatus, UploadStatus};

/// The events of `receiver` that `keep` accepts, mapped by `map`; ends after the
/// first one `last` accepts.
fn feed<E, T>(
    receiver: Receiver<E>,
    keep: impl Fn(&E) -> Option<T> + Send + Sync + 'static,
    last: impl Fn(&T) -> bool + Send + Sync + 'static,
) -> BoxStream<'static, T>
where
    E: Clone + Send + 'static,
    T: Send + 'static,
{
    let rules = std::sync::Arc::new((keep, last));
    stream::unfold(Some(receiver), move |receiver| {
        let rules = rules.clone();
        async move {
            let mut receiver = receiver?;
            loop {
                match receiver.recv().await {
                    Ok(event) => {
                        if let Some(item) = (rules.0)(&event) {
                            let next = (!(rules.1)(&item)).then_some(receiver);
                            return Some((item, next));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
    .boxed()
}

fn is_final(progress: &UploadProgress) -> bool {
    matches!(
        progress.status,
        UploadStatus::Completed | UploadStatus::Failed | UploadStatus::Cancelled
    )
}

impl Services {
    /// One event per stored chunk of upload `upload_id`, then a final one
    /// (completed, failed or cancelled), after which the feed ends.
    pub async fn watch_upload(
        &self,
        caller: &Caller,
        upload_id: Uuid,
    ) -> Result<BoxStream<'static, UploadProgress>> {
        let receiver = self.inner.events.subscribe_uploads();
        self.upload_progress(caller, upload_id).await?;
        let caller = caller.clone();
        Ok(feed(
            receiver,
            move |e| {
                (e.progress.upload_id == upload_id && caller.sees_device(e.user_id, e.device))
                    .then(|| e.progress.clone())
            },
            is_final,
        ))
    }

    /// Every upload event the caller may see (admins: everyone's).
    pub fn watch_uploads(&self, caller: &Caller) -> BoxStream<'static, UploadProgress> {
        let caller = caller.clone();
        feed(
            self.inner.events.subscribe_uploads(),
            move |e| {
                caller
                    .sees_device(e.user_id, e.device)
                    .then(|| e.progress.clone())
            },
            |_| false,
        )
    }

    /// Sync requests for device `device_id` of `owner` (default: the caller).
    pub async fn watch_sync_requests(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
        device_id: &str,
    ) -> Result<BoxStream<'static, SyncRun>> {
        let owner = owner.unwrap_or(caller.user_id);
        let receiver = self.inner.events.subscribe_runs();
        let device = self
            .resolve_device(caller, owner, device_id)
            .await?
            .device_id;
        Ok(feed(
            receiver,
            move |e| {
                (e.run.user_id == owner
                    && e.run.device_id == device
                    && e.run.status == RunStatus::Requested)
                    .then(|| e.run.clone())
            },
            |_| false,
        ))
    }

    /// Every recorded run of schedules of devices the caller may see (admins: all).
    pub fn watch_runs(&self, caller: &Caller) -> BoxStream<'static, SyncRun> {
        let caller = caller.clone();
        feed(
            self.inner.events.subscribe_runs(),
            move |e| {
                caller
                    .sees_device_named(e.run.user_id, &e.run.device_id)
                    .then(|| e.run.clone())
            },
            |_| false,
        )
    }

    /// Throughput samples of the users the caller may see, or of `only`
    /// (someone the caller may not see: 404).
    pub fn watch_bandwidth(
        &self,
        caller: &Caller,
        only: Option<Uuid>,
    ) -> Result<BoxStream<'static, BandwidthSample>> {
        if only.is_some_and(|u| !caller.can_access(u)) {
            return Err(crate::service::Error::not_found("user"));
        }
        let caller = caller.clone();
        Ok(feed(
            self.inner.events.subscribe_bandwidth(),
            move |s: &BandwidthSample| {
                (caller.can_access(s.user_id) && only.is_none_or(|u| u == s.user_id))
                    .then(|| s.clone())
            },
            |_| false,
        ))
    }
}
