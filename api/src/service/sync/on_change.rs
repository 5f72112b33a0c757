//! On-change schedules: a file change arms the debounce of the schedules that
//! watch it (a run fires once the device has been quiet long enough).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::service::error::Result;
use crate::service::{
    Services,
    sync::selective::{folders_by_device, is_synced},
};

impl Services {
    /// A file of `user_id` at `path` changed (committed or deleted), by
    /// `origin` (a device, or `None` for WebDAV and other device-less writers):
    /// every other device of the user whose selective sync covers the path and
    /// that has an enabled `on_change` schedule runs `debounce_seconds` later.
    /// Each change pushes the run back, so a burst makes one run.
    pub(crate) async fn note_file_change(
        &self,
        user_id: Uuid,
        paths: &[String],
        origin: Option<Uuid>,
    ) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        use entity::sync_schedule;
        let schedules = sync_schedule::Entity::find()
            .filter(sync_schedule::Column::UserId.eq(user_id))
            .filter(sync_schedule::Column::ScheduleType.eq("on_change"))
            .filter(sync_schedule::Column::Enabled.eq(true))
            .all(self.db())
            .await?;
        let now = self.clock().now();
        let others: Vec<_> = schedules
            .into_iter()
            .filter(|s| Some(s.device_id) != origin)
            .collect();
        let folders = folders_by_device(self.db(), others.iter().map(|s| s.device_id)).await?;
        let _writing = self.schedule_writes();
        for schedule in others {
            let device_folders = folders
                .get(&schedule.device_id)
                .map_or(&[][..], Vec::as_slice);
            if !paths.iter().any(|path| is_synced(device_folders, path)) {
                continue;
            }
            let due = now + chrono::Duration::seconds(i64::from(schedule.debounce_seconds));
            sync_schedule::Entity::update_many()
                .col_expr(sync_schedule::Column::NextRunAt, Expr::value(Some(due)))
                .filter(sync_schedule::Column::Id.eq(schedule.id))
                .filter(sync_schedule::Column::Enabled.eq(true))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }

    /// [`Self::note_file_change`] for a commit that already happened: a failure
    /// is logged, never reported to the writer whose change is safely stored.
    pub(crate) async fn after_file_change(&self, user_id: Uuid, path: &str, origin: Option<Uuid>) {
        self.after_files_change(user_id, &[path.to_owned()], origin)
            .await;
    }

    /// [`Self::after_file_change`] for several paths changed together (a
    /// folder moved or deleted): one on-change trigger per device at most.
    pub(crate) async fn after_files_change(
        &self,
        user_id: Uuid,
        paths: &[String],
        origin: Option<Uuid>,
    ) {
        self.inner.events.publish_tree(user_id);
        if let Err(err) = self.note_file_change(user_id, paths, origin).await {
            tracing::error!(%err, count = paths.len(), "scheduling on-change sync runs failed");
        }
    }
}
