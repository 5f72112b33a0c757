//! Background work on `tokio-cron-scheduler`; each job logs its failures and never panics.
//! With several nodes on one database, each periodic job runs once per slot
//! (claimed in the database) and the schedule engine claims each run.
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::{config::Settings, service::Services};

/// Start the scheduler with every periodic job.
pub async fn start(
    services: Services,
    settings: &Settings,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let every = Duration::from_secs(settings.cleanup_interval_secs.max(1));
    scheduler
        .add(expire_uploads_job(services.clone(), every)?)
        .await?;
    if settings.bandwidth_monitor {
        scheduler
            .add(bandwidth_monitor_job(services.clone())?)
            .await?;
    }
    if settings.gc_interval_secs > 0 {
        let every = Duration::from_secs(settings.gc_interval_secs);
        scheduler
            .add(collector_job(services.clone(), every)?)
            .await?;
    }
    scheduler.add(schedule_engine_job(services)?).await?;
    scheduler.start().await?;
    Ok(scheduler)
}

/// Expire uploads idle past `SYNC_CHUNK_CLEANUP_DAYS` and delete their chunks;
/// retry assemblies that an error left unfinished.
fn expire_uploads_job(services: Services, every: Duration) -> Result<Job, JobSchedulerError> {
    Job::new_repeated_async(every, move |_id, _scheduler| {
        let services = services.clone();
        Box::pin(async move {
            match services.claim_job_slot("expire_uploads", every).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => {
                    tracing::error!(%err, "claiming the upload expiry job failed");
                    return;
                }
            }
            match services.expire_idle_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired idle uploads"),
                Err(err) => tracing::error!(%err, "the upload expiry job failed"),
            }
            if let Err(err) = services.retry_assemblies().await {
                tracing::error!(%err, "retrying stalled assemblies failed");
            }
            if let Err(err) = services.prune_prefix_hashes().await {
                tracing::error!(%err, "pruning background hashes failed");
            }
        })
    })
}

/// Apply version retention, delete unreferenced blocks and compact the
/// changes log.
fn collector_job(services: Services, every: Duration) -> Result<Job, JobSchedulerError> {
    Job::new_repeated_async(every, move |_id, _scheduler| {
        let services = services.clone();
        Box::pin(async move {
            match services.claim_job_slot("collect_garbage", every).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => {
                    tracing::error!(%err, "claiming the block collector's run failed");
                    return;
                }
            }
            match services.collect_garbage(None).await {
                Ok(report) => tracing::info!(
                    versions = report.versions_pruned,
                    blocks = report.blocks_deleted,
                    bytes = report.bytes_reclaimed,
                    "collected unreferenced blocks"
                ),
                Err(err) => tracing::error!(%err, "the block collector failed"),
            }
            match services.compact_change_log().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "compacted the changes log"),
                Err(err) => tracing::error!(%err, "compacting the changes log failed"),
            }
        })
    })
}

/// How often the schedule engine looks for due schedules.
const ENGINE_TICK: Duration = Duration::from_secs(1);

/// The schedule engine: claim and run due schedules. A tick still running when
/// the next one fires makes that one wait on the database claim, never double-run.
fn schedule_engine_job(services: Services) -> Result<Job, JobSchedulerError> {
    let running = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    Job::new_repeated_async(ENGINE_TICK, move |_id, _scheduler| {
        let services = services.clone();
        let running = running.clone();
        Box::pin(async move {
            let Ok(_guard) = running.try_lock() else {
                return;
            };
            match services.run_due_schedules().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(runs = n, "ran due sync schedules"),
                Err(err) => tracing::error!(%err, "the schedule engine failed; retrying next tick"),
            }
        })
    })
}

/// How often the throughput monitor samples.
const MONITOR_TICK: Duration = Duration::from_secs(1);

/// The throughput monitor: one sample of every user's rate per tick.
fn bandwidth_monitor_job(services: Services) -> Result<Job, JobSchedulerError> {
    let monitor = std::sync::Arc::new(std::sync::Mutex::new(
        crate::service::bandwidth::monitor::Monitor::default(),
    ));
    Job::new_repeated_async(MONITOR_TICK, move |_id, _scheduler| {
        let services = services.clone();
        let monitor = monitor.clone();
        Box::pin(async move {
            if let Ok(mut monitor) = monitor.lock() {
                services.sample_bandwidth(&mut monitor);
            }
        })
    })
}
