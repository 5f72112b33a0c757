//! WebDAV dead properties (RFC 4918 §4): XML a client sets on a path, kept in
//! the database, moved and copied with the path and dropped when it goes.
use entity::dead_property;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::service::error::Result;
use crate::service::{Caller, Services, files::paths};

/// One dead property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadProp {
    /// XML namespace; `None` for none.
    pub namespace: Option<String>,
    pub name: String,
    pub prefix: Option<String>,
    /// The whole property element as the client sent it.
    pub xml: Option<Vec<u8>>,
}

impl From<dead_property::Model> for DeadProp {
    fn from(m: dead_property::Model) -> Self {
        Self {
            namespace: (!m.namespace.is_empty()).then_some(m.namespace),
            name: m.name,
            prefix: m.prefix,
            xml: m.xml,
        }
    }
}

/// One change of a PROPPATCH: set (with the new value) or remove.
#[derive(Clone, Debug)]
pub enum PropPatch {
    Set(DeadProp),
    Remove {
        namespace: Option<String>,
        name: String,
    },
}

impl Services {
    /// The dead properties on the caller's `path`, by namespace and name.
    pub async fn dead_props(&self, caller: &Caller, path: &str) -> Result<Vec<DeadProp>> {
        let path = paths::normalize(path)?;
        Ok(dead_property::Entity::find()
            .filter(dead_property::Column::UserId.eq(caller.user_id))
            .filter(dead_property::Column::Path.eq(path))
            .order_by_asc(dead_property::Column::Namespace)
            .order_by_asc(dead_property::Column::Name)
            .all(self.db())
            .await?
            .into_iter()
            .map(DeadProp::from)
            .collect())
    }

    /// Apply a PROPPATCH to the caller's `path`: every change or none.
    pub async fn patch_dead_props(
        &self,
        caller: &Caller,
        path: &str,
        patch: Vec<PropPatch>,
    ) -> Result<()> {
        let path = paths::normalize(path)?;
        let txn = self.begin_write().await?;
        for change in patch {
            match change {
                PropPatch::Set(prop) => {
                    dead_property::Entity::insert(dead_property::ActiveModel {
                        user_id: Set(caller.user_id),
                        path: Set(path.clone()),
                        namespace: Set(prop.namespace.unwrap_or_default()),
                        name: Set(prop.name),
                        prefix: Set(prop.prefix),
                        xml: Set(prop.xml),
                    })
                    .on_conflict(
                        OnConflict::columns([
                            dead_property::Column::UserId,
                            dead_property::Column::Path,
                            dead_property::Column::Namespace,
                            dead_property::Column::Name,
                        ])
                        .update_columns([dead_property::Column::Prefix, dead_property::Column::Xml])
                        .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
                }
                PropPatch::Remove { namespace, name } => {
                    dead_property::Entity::delete_many()
                        .filter(dead_property::Column::UserId.eq(caller.user_id))
                        .filter(dead_property::Column::Path.eq(&path))
                        .filter(dead_property::Column::Namespace.eq(namespace.unwrap_or_default()))
                        .filter(dead_property::Column::Name.eq(name))
                        .exec(&txn)
                        .await?;
                }
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// Drop the dead properties of exactly `path` (a deleted file).
    pub(crate) async fn drop_dead_props(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        path: &str,
    ) -> Result<()> {
        dead_property::Entity::delete_many()
            .filter(dead_property::Column::UserId.eq(user_id))
            .filter(dead_property::Column::Path.eq(path))
            .exec(conn)
            .await?;
        Ok(())
    }

    /// Give the dead properties at or below `from` to the same places below `to`
    /// (what was at `to` is replaced).
    pub(crate) async fn move_dead_props(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        from: &str,
        to: &str,
    ) -> Result<()> {
        let moving = self.dead_props_at_or_below(conn, user_id, from).await?;
        if moving.is_empty() {
            return Ok(());
        }
        self.drop_dead_props(conn, user_id, to).await?;
        dead_property::Entity::delete_many()
            .filter(dead_property::Column::UserId.eq(user_id))
            .filter(
                dead_property::Column::Path
                    .is_in(moving.iter().map(|m| m.path.clone()).collect::<Vec<_>>()),
            )
            .exec(conn)
            .await?;
        self.insert_dead_props(conn, moving, from, to).await
    }

    /// Copy the dead properties of exactly `from` onto `to` (replacing `to`'s).
    pub(crate) async fn copy_dead_props(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        from: &str,
        to: &str,
    ) -> Result<()> {
        self.drop_dead_props(conn, user_id, to).await?;
        let copied = dead_property::Entity::find()
            .filter(dead_property::Column::UserId.eq(user_id))
            .filter(dead_property::Column::Path.eq(from))
            .all(conn)
            .await?;
        self.insert_dead_props(conn, copied, from, to).await
    }

    async fn dead_props_at_or_below(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        path: &str,
    ) -> Result<Vec<dead_property::Model>> {
        Ok(dead_property::Entity::find()
            .filter(dead_property::Column::UserId.eq(user_id))
            .filter(
                dead_property::Column::Path
                    .eq(path)
                    .or(crate::service::files::tree::below(
                        dead_property::Column::Path,
                        path,
                    )),
            )
            .all(conn)
            .await?)
    }

    async fn insert_dead_props(
        &self,
        conn: &impl ConnectionTrait,
        rows: Vec<dead_property::Model>,
        from: &str,
        to: &str,
    ) -> Result<()> {
        for row in rows {
            let path = format!("{to}{}", &row.path[from.len()..]);
            dead_property::Entity::insert(dead_property::ActiveModel {
                path: Set(path),
                ..sea_orm::IntoActiveModel::into_active_model(row)
            })
            .exec_without_returning(conn)
            .await?;
        }
        Ok(())
    }
}
