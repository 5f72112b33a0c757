//! The in-process event bus: the upload and schedule engines publish,
//! subscriptions listen.
//! One broadcast channel; a later issue can bridge it across servers.
use sea_orm::EntityTrait;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::service::{
    Services, bandwidth::monitor::BandwidthSample, sync::runs::RunEvent, uploads::UploadProgress,
};

/// Events kept for slow subscribers before they skip ahead.
const CAPACITY: usize = 4_096;

/// Something that happened to an upload.
#[derive(Clone, Debug)]
pub struct UploadEvent {
    /// The upload's owner (subscriptions filter on it).
    pub user_id: Uuid,
    /// The upload's device (`devices.id`): device-bound tokens see only their own.
    pub device: Uuid,
    pub progress: UploadProgress,
}

/// The sending side, held by the services.
#[derive(Debug)]
pub struct EventBus {
    uploads: broadcast::Sender<UploadEvent>,
    runs: broadcast::Sender<RunEvent>,
    bandwidth: broadcast::Sender<BandwidthSample>,
    /// Users whose tree changed (a commit happened; read the feed to see what).
    trees: broadcast::Sender<Uuid>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            uploads: broadcast::channel(CAPACITY).0,
            runs: broadcast::channel(CAPACITY).0,
            bandwidth: broadcast::channel(CAPACITY).0,
            trees: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Listen to every upload event from now on.
    pub(crate) fn subscribe_uploads(&self) -> broadcast::Receiver<UploadEvent> {
        self.uploads.subscribe()
    }

    /// Listen to every throughput sample from now on.
    pub(crate) fn subscribe_bandwidth(&self) -> broadcast::Receiver<BandwidthSample> {
        self.bandwidth.subscribe()
    }

    /// Listen for users whose tree changes from now on.
    pub(crate) fn subscribe_trees(&self) -> broadcast::Receiver<Uuid> {
        self.trees.subscribe()
    }

    /// `user_id`'s tree changed and the change committed.
    pub(crate) fn publish_tree(&self, user_id: Uuid) {
        let _ = self.trees.send(user_id);
    }

    /// Listen to every recorded sync run from now on.
    pub(crate) fn subscribe_runs(&self) -> broadcast::Receiver<RunEvent> {
        self.runs.subscribe()
    }

    /// Publish a recorded sync run (no subscriber is fine).
    pub(crate) fn publish_run(&self, event: RunEvent) {
        let _ = self.runs.send(event);
    }

    /// Publish a throughput sample (no subscriber is fine).
    pub(crate) fn publish_bandwidth(&self, sample: BandwidthSample) {
        let _ = self.bandwidth.send(sample);
    }
}

impl Services {
    /// Every recorded run, unfiltered: for in-process tools and benchmarks
    /// (callers use [`Services::watch_runs`]).
    pub fn subscribe_runs(&self) -> broadcast::Receiver<RunEvent> {
        self.inner.events.subscribe_runs()
    }

    /// Publish the current state of an upload (no subscriber is fine).
    pub(crate) async fn publish_upload(&self, upload_id: Uuid) {
        if self.inner.events.uploads.receiver_count() == 0 {
            return;
        }
        let Ok(Some(upload)) = entity::chunked_upload::Entity::find_by_id(upload_id)
            .one(self.db())
            .await
        else {
            return;
        };
        if let Ok(progress) = self.progress_of(self.db(), &upload).await {
            let _ = self.inner.events.uploads.send(UploadEvent {
                user_id: upload.user_id,
                device: upload.device_id,
                progress,
            });
        }
    }
}
