//! The event bus: the upload and schedule engines publish, subscriptions
//! listen. One broadcast channel per kind in this process; what is published
//! here also goes to the other nodes ([`cluster`](crate::service::cluster)),
//! whose events arrive through the `send_*` methods.
use sea_orm::EntityTrait;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::service::{
    Services,
    bandwidth::monitor::BandwidthSample,
    cluster::{Peers, Signal},
    sync::runs::RunEvent,
    uploads::UploadProgress,
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
    /// The other nodes.
    pub(crate) peers: Peers,
}

impl EventBus {
    pub(crate) fn new(peers: Peers) -> Self {
        Self {
            uploads: broadcast::channel(CAPACITY).0,
            runs: broadcast::channel(CAPACITY).0,
            bandwidth: broadcast::channel(CAPACITY).0,
            trees: broadcast::channel(CAPACITY).0,
            peers,
        }
    }

    /// Hand an upload event to this node's subscribers.
    pub(crate) fn send_upload(&self, event: UploadEvent) {
        let _ = self.uploads.send(event);
    }

    /// Hand `user_id`'s upload state from `device` to this node's subscribers.
    pub(crate) fn send_upload_of(&self, user_id: Uuid, device: Uuid, progress: UploadProgress) {
        self.send_upload(UploadEvent {
            user_id,
            device,
            progress,
        });
    }

    /// Hand a run to this node's subscribers.
    pub(crate) fn send_run(&self, event: RunEvent) {
        let _ = self.runs.send(event);
    }

    /// Hand a throughput sample to this node's subscribers.
    pub(crate) fn send_bandwidth(&self, sample: BandwidthSample) {
        let _ = self.bandwidth.send(sample);
    }

    /// Tell this node's listeners that `user_id`'s tree changed.
    pub(crate) fn send_tree(&self, user_id: Uuid) {
        let _ = self.trees.send(user_id);
    }

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
        self.send_tree(user_id);
        self.peers.tell(Signal::Tree { user_id });
    }

    /// Listen to every recorded sync run from now on.
    pub(crate) fn subscribe_runs(&self) -> broadcast::Receiver<RunEvent> {
        self.runs.subscribe()
    }

    /// Publish a recorded sync run (no subscriber is fine).
    pub(crate) fn publish_run(&self, event: RunEvent) {
        self.peers.tell(Signal::Run {
            run: event.run.clone(),
        });
        self.send_run(event);
    }

    /// Publish a throughput sample (no subscriber is fine).
    pub(crate) fn publish_bandwidth(&self, sample: BandwidthSample) {
        self.peers.tell(Signal::Bandwidth {
            sample: sample.clone(),
        });
        self.send_bandwidth(sample);
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
        self.send_upload_state(upload_id, true).await;
    }

    /// Publish the current state of an upload to this node's subscribers only.
    pub(crate) async fn publish_upload_here(&self, upload_id: Uuid) {
        self.send_upload_state(upload_id, false).await;
    }

    async fn send_upload_state(&self, upload_id: Uuid, to_peers: bool) {
        let events = &self.inner.events;
        let to_peers = to_peers && events.peers.connected();
        if events.uploads.receiver_count() == 0 && !to_peers {
            return;
        }
        let Ok(Some(upload)) = entity::chunked_upload::Entity::find_by_id(upload_id)
            .one(self.db())
            .await
        else {
            return;
        };
        if let Ok(progress) = self.progress_of(self.db(), &upload).await {
            if to_peers {
                events
                    .peers
                    .tell_now(Signal::Upload {
                        user_id: upload.user_id,
                        device: upload.device_id,
                        progress: progress.clone(),
                    })
                    .await;
            }
            events.send_upload(UploadEvent {
                user_id: upload.user_id,
                device: upload.device_id,
                progress,
            });
        }
    }
}
