//! Names for the targets of audit entries, so people read `alice` or `Laptop (bob)`
//! rather than ids: looked up as they are now (a few queries per page, one per kind of
//! target), or, for a target that is gone, taken from what the entry recorded.
use std::collections::HashMap;

use entity::{api_token, audit_log, chunked_upload, device, schedule_run, sync_schedule, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::service::{Result, Services};

/// Devices looked up for one page at most.
const MAX_DEVICES: u64 = 2_000;

/// The uuid targets of `kind` among `rows`.
fn ids_of(rows: &[audit_log::Model], kind: &str) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.target_type == kind)
        .filter_map(|r| r.target_id.as_deref()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The first of `keys` that the entry's `after` (then `before`) holds as text.
fn recorded(row: &audit_log::Model, keys: &[&str]) -> Option<String> {
    [&row.after, &row.before]
        .into_iter()
        .flatten()
        .find_map(|v| {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
        })
}

/// What is looked up for one page.
#[derive(Default)]
struct Known {
    users: HashMap<Uuid, String>,
    /// devices.id → (owner, name)
    devices: HashMap<Uuid, (Uuid, String)>,
    /// A device's client id → its rows (ambiguous across users).
    device_keys: HashMap<String, Vec<Uuid>>,
    /// schedule or run id → devices.id
    device_of: HashMap<Uuid, Uuid>,
    tokens: HashMap<Uuid, String>,
    uploads: HashMap<Uuid, String>,
}

impl Known {
    fn device_label(&self, id: Uuid) -> Option<String> {
        let (owner, name) = self.devices.get(&id)?;
        Some(match self.users.get(owner) {
            Some(username) => format!("{name} ({username})"),
            None => name.clone(),
        })
    }

    fn name_of(&self, row: &audit_log::Model) -> Option<String> {
        let target = row.target_id.as_deref()?;
        let uuid = target.parse::<Uuid>().ok();
        let looked_up = match row.target_type.as_str() {
            "user" => uuid.and_then(|id| self.users.get(&id).cloned()),
            "device" => {
                // A device entry names the device by its client id; the name it
                // recorded wins, else the device when exactly one has that id.
                return recorded(row, &["name"]).or_else(|| {
                    match self.device_keys.get(target).map(Vec::as_slice) {
                        Some([only]) => self.device_label(*only),
                        _ => Some(target.to_owned()),
                    }
                });
            }
            "schedule" | "sync_run" => uuid
                .and_then(|id| self.device_of.get(&id))
                .and_then(|device| self.device_label(*device)),
            "token" => uuid.and_then(|id| self.tokens.get(&id).cloned()),
            "upload" => uuid.and_then(|id| self.uploads.get(&id).cloned()),
            "file" | "folder" | "path" => Some(target.to_owned()),
            _ => None,
        };
        looked_up.or_else(|| recorded(row, &["username", "name", "file_path", "path", "device_id"]))
    }
}

impl Services {
    /// The target name of each of `rows`, in order.
    pub(super) async fn audit_target_names(
        &self,
        rows: &[audit_log::Model],
    ) -> Result<Vec<Option<String>>> {
        let db = self.db();
        let mut known = Known::default();
        let schedules = ids_of(rows, "schedule");
        if !schedules.is_empty() {
            let found: Vec<(Uuid, Uuid)> = sync_schedule::Entity::find()
                .select_only()
                .columns([sync_schedule::Column::Id, sync_schedule::Column::DeviceId])
                .filter(sync_schedule::Column::Id.is_in(schedules))
                .into_tuple()
                .all(db)
                .await?;
            known.device_of.extend(found);
        }
        let runs = ids_of(rows, "sync_run");
        if !runs.is_empty() {
            let found: Vec<(Uuid, Uuid)> = schedule_run::Entity::find()
                .select_only()
                .columns([schedule_run::Column::Id, schedule_run::Column::DeviceId])
                .filter(schedule_run::Column::Id.is_in(runs))
                .into_tuple()
                .all(db)
                .await?;
            known.device_of.extend(found);
        }
        let mut device_keys: Vec<&str> = rows
            .iter()
            .filter(|r| r.target_type == "device" && recorded(r, &["name"]).is_none())
            .filter_map(|r| r.target_id.as_deref())
            .collect();
        device_keys.sort_unstable();
        device_keys.dedup();
        let device_rows: Vec<Uuid> = known.device_of.values().copied().collect();
        if !device_rows.is_empty() || !device_keys.is_empty() {
            let found: Vec<(Uuid, Uuid, String, String)> = device::Entity::find()
                .select_only()
                .columns([
                    device::Column::Id,
                    device::Column::UserId,
                    device::Column::DeviceId,
                    device::Column::Name,
                ])
                .filter(
                    sea_orm::Condition::any()
                        .add(device::Column::Id.is_in(device_rows))
                        .add(device::Column::DeviceId.is_in(device_keys)),
                )
                // Client ids repeat across users; past this many, names stay ids.
                .limit(MAX_DEVICES)
                .into_tuple()
                .all(db)
                .await?;
            for (id, owner, key, name) in found {
                known.device_keys.entry(key).or_default().push(id);
                known.devices.insert(id, (owner, name));
            }
        }
        let mut users = ids_of(rows, "user");
        users.extend(known.devices.values().map(|(owner, _)| *owner));
        if !users.is_empty() {
            let found: Vec<(Uuid, String)> = user::Entity::find()
                .select_only()
                .columns([user::Column::Id, user::Column::Username])
                .filter(user::Column::Id.is_in(users))
                .into_tuple()
                .all(db)
                .await?;
            known.users.extend(found);
        }
        // A deleted user's name lives on in the entry that recorded the deletion.
        let gone: Vec<String> = ids_of(rows, "user")
            .into_iter()
            .filter(|id| !known.users.contains_key(id))
            .map(|id| id.to_string())
            .collect();
        if !gone.is_empty() {
            let deletions = audit_log::Entity::find()
                .filter(audit_log::Column::Action.eq("user.deleted"))
                .filter(audit_log::Column::TargetId.is_in(gone))
                .all(db)
                .await?;
            for entry in deletions {
                if let (Some(id), Some(name)) = (
                    entry.target_id.as_deref().and_then(|t| t.parse().ok()),
                    recorded(&entry, &["username"]),
                ) {
                    known.users.insert(id, name);
                }
            }
        }
        let tokens = ids_of(rows, "token");
        if !tokens.is_empty() {
            let found: Vec<(Uuid, String)> = api_token::Entity::find()
                .select_only()
                .columns([api_token::Column::Id, api_token::Column::Name])
                .filter(api_token::Column::Id.is_in(tokens))
                .into_tuple()
                .all(db)
                .await?;
            known.tokens.extend(found);
        }
        let uploads = ids_of(rows, "upload");
        if !uploads.is_empty() {
            let found: Vec<(Uuid, String)> = chunked_upload::Entity::find()
                .select_only()
                .columns([chunked_upload::Column::Id, chunked_upload::Column::FilePath])
                .filter(chunked_upload::Column::Id.is_in(uploads))
                .into_tuple()
                .all(db)
                .await?;
            known.uploads.extend(found);
        }
        Ok(rows.iter().map(|r| known.name_of(r)).collect())
    }
}
