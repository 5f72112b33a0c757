//! Devices: registered at login, named in requests, checked against the caller.
use crate::service::Code;
use entity::device;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services};

fn validate_device_id(device_id: &str) -> Result<()> {
    if device_id.is_empty() || device_id.len() > 128 || device_id.chars().any(char::is_control) {
        return Err(Error::new(
            Code::InvalidDeviceId,
            "device_id must be 1–128 printable characters",
        ));
    }
    Ok(())
}

/// A device as the API shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_id: String,
    pub name: String,
    pub platform: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn device_info(d: device::Model) -> DeviceInfo {
    DeviceInfo {
        id: d.id,
        user_id: d.user_id,
        device_id: d.device_id,
        name: d.name,
        platform: d.platform,
        created_at: d.created_at,
        last_seen_at: d.last_seen_at,
    }
}

impl Services {
    /// The devices of `owner` (default the caller; another user's needs admin, 404 otherwise).
    pub async fn list_devices(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
    ) -> Result<Vec<DeviceInfo>> {
        let owner = owner.unwrap_or(caller.user_id);
        if !caller.can_access(owner) {
            return Err(Error::not_found("user"));
        }
        let rows = device::Entity::find()
            .filter(device::Column::UserId.eq(owner))
            .order_by_asc(device::Column::DeviceId)
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(device_info).collect())
    }

    /// Every user's devices (admin), by owner then device id.
    pub async fn list_all_devices(&self, caller: &Caller) -> Result<Vec<DeviceInfo>> {
        caller.require_admin()?;
        let rows = device::Entity::find()
            .order_by_asc(device::Column::UserId)
            .order_by_asc(device::Column::DeviceId)
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(device_info).collect())
    }

    /// Register `device_id` for `user_id` if new; otherwise note that it was seen.
    pub(crate) async fn register_device(
        &self,
        user_id: Uuid,
        device_id: &str,
        name: Option<&str>,
        platform: Option<&str>,
    ) -> Result<device::Model> {
        validate_device_id(device_id)?;
        let now = self.clock().now();
        let existing = device::Entity::find()
            .filter(device::Column::UserId.eq(user_id))
            .filter(device::Column::DeviceId.eq(device_id))
            .one(self.db())
            .await?;
        if let Some(existing) = existing {
            let mut active = existing.into_active_model();
            active.last_seen_at = Set(Some(now));
            if let Some(name) = name {
                active.name = Set(name.to_owned());
            }
            return Ok(active.update(self.db()).await?);
        }
        let inserted = device::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(user_id),
            device_id: Set(device_id.to_owned()),
            name: Set(name.unwrap_or(device_id).to_owned()),
            platform: Set(platform.unwrap_or("unknown").to_owned()),
            created_at: Set(now),
            last_seen_at: Set(Some(now)),
            synced_until: Set(None),
        }
        .insert(self.db())
        .await;
        match inserted {
            Ok(model) => Ok(model),
            // Registered concurrently by another request: use that one.
            Err(_) => device::Entity::find()
                .filter(device::Column::UserId.eq(user_id))
                .filter(device::Column::DeviceId.eq(device_id))
                .one(self.db())
                .await?
                .ok_or_else(|| Error::internal("device vanished after a conflicting insert")),
        }
    }

    /// Rename a device of `owner` (default the caller).
    pub async fn rename_device(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
        device_id: &str,
        name: &str,
    ) -> Result<DeviceInfo> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
            return Err(Error::new(
                Code::InvalidDeviceName,
                "a device name must be 1–128 printable characters",
            ));
        }
        let found = self
            .resolve_device(caller, owner.unwrap_or(caller.user_id), device_id)
            .await?;
        let before = found.name.clone();
        let mut active = found.into_active_model();
        active.name = Set(name.to_owned());
        let saved = active.update(self.db()).await?;
        let entry = crate::service::audit::AuditEntry {
            action: "device.renamed",
            target_type: "device",
            target_id: Some(saved.device_id.clone()),
            before: Some(serde_json::json!({ "name": before })),
            after: Some(serde_json::json!({ "name": saved.name })),
        };
        self.audit(self.db(), Some(caller), entry).await?;
        Ok(device_info(saved))
    }

    /// Remove a device of `owner` (default the caller): its unfinished uploads
    /// are cancelled, and its tokens, schedules and selective sync go with it.
    pub async fn remove_device(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
        device_id: &str,
    ) -> Result<()> {
        let found = self
            .resolve_device(caller, owner.unwrap_or(caller.user_id), device_id)
            .await?;
        self.discard_unfinished(
            sea_orm::Condition::all().add(entity::chunked_upload::Column::DeviceId.eq(found.id)),
        )
        .await?;
        // Its schedules go with it (a cascade).
        let writing = self.schedule_writes();
        device::Entity::delete_by_id(found.id)
            .exec(self.db())
            .await?;
        drop(writing);
        // Its tokens went with it.
        self.access_changed(found.user_id).await;
        let entry = crate::service::audit::AuditEntry {
            action: "device.removed",
            target_type: "device",
            target_id: Some(found.device_id.clone()),
            before: Some(serde_json::json!({ "name": found.name, "platform": found.platform })),
            after: None,
        };
        self.audit(self.db(), Some(caller), entry).await
    }

    /// The device `device_id` of `owner` as `caller` may name it: a device-bound
    /// token may act only for its own device (403); an unknown device, or one of
    /// another user, is 404.
    pub async fn resolve_device(
        &self,
        caller: &Caller,
        owner: Uuid,
        device_id: &str,
    ) -> Result<device::Model> {
        if !caller.can_access(owner) {
            return Err(Error::not_found("device"));
        }
        if let Some((_, bound)) = &caller.device
            && bound != device_id
        {
            return Err(Error::forbidden(
                "this token may act only for its own device",
            ));
        }
        device::Entity::find()
            .filter(device::Column::UserId.eq(owner))
            .filter(device::Column::DeviceId.eq(device_id))
            .one(self.db())
            .await?
            .ok_or(Error::not_found("device"))
    }
}
