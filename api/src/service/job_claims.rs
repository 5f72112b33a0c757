//! Periodic jobs run once per slot across every node on one database: the node
//! whose claim on the slot (`job_claims`, one row per job and slot) goes in
//! first runs it; the others skip. Slots are the job's interval counted from
//! the epoch, so every node agrees on them whatever its start time.
use entity::{bandwidth_share, job_claim};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::OnConflict};

use crate::service::Services;
use crate::service::error::Result;

/// Claims kept, in slots, before they are deleted.
const KEEP_SLOTS: i64 = 64;

impl Services {
    /// Claim slot "now" of `job` (repeating every `every`): whether this node runs it.
    pub async fn claim_job_slot(&self, job: &str, every: std::time::Duration) -> Result<bool> {
        let now = self.clock().now();
        let every_secs = i64::try_from(every.as_secs().max(1)).unwrap_or(i64::MAX);
        let slot = now.timestamp().div_euclid(every_secs);
        let inserted = job_claim::Entity::insert(job_claim::ActiveModel {
            job: Set(job.to_owned()),
            slot: Set(slot),
            node: Set(self.inner.events.peers.node()),
            claimed_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([job_claim::Column::Job, job_claim::Column::Slot])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.db())
        .await?;
        if inserted == 0 {
            return Ok(false);
        }
        job_claim::Entity::delete_many()
            .filter(job_claim::Column::Job.eq(job))
            .filter(job_claim::Column::Slot.lt(slot - KEEP_SLOTS))
            .exec(self.db())
            .await?;
        // Shares of nodes long gone (each process start is a new node).
        bandwidth_share::Entity::delete_many()
            .filter(bandwidth_share::Column::ExpiresAt.lt(now - chrono::Duration::hours(1)))
            .exec(self.db())
            .await?;
        Ok(true)
    }
}
