//! Account administration: creating, disabling, re-roling, resetting and
//! deleting users (admins; the service decides).
use async_graphql::{Context, ID, Object};

use super::{context, query::uuid_of, types::*};
use crate::graphql::errors::GraphQLResult;

/// Mutations on accounts.
#[derive(Debug, Default)]
pub struct AccountMutations;

#[Object]
impl AccountMutations {
    /// Create a user (admins). The password must be 8 to 1024 characters.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
        #[graphql(default_with = "Role::User")] role: Role,
    ) -> async_graphql::Result<User> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .create_user(Some(caller), &username, &password, role.into())
            .await
            .gql()?
            .into())
    }

    /// Disable a user (their tokens stop working, their open sockets close) or
    /// enable them again (admins; never oneself, never the last enabled admin).
    async fn set_user_disabled(
        &self,
        ctx: &Context<'_>,
        id: ID,
        disabled: bool,
    ) -> async_graphql::Result<User> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .set_user_disabled(Some(caller), uuid_of(&id, "user")?, disabled)
            .await
            .gql()?
            .into())
    }

    /// Give a user the admin role or take it away (admins; never one's own,
    /// never the last enabled admin's).
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: Role,
    ) -> async_graphql::Result<User> {
        let (services, caller) = context(ctx).gql()?;
        let user = services
            .user_by_id(Some(caller), uuid_of(&id, "user")?)
            .await
            .gql()?;
        Ok(services
            .set_user_role(Some(caller), &user.username, role.into())
            .await
            .gql()?
            .into())
    }

    /// Set a user's password (admins). Every token of theirs is revoked: their
    /// sessions, devices and sockets must sign in again.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        id: ID,
        password: String,
    ) -> async_graphql::Result<User> {
        let (services, caller) = context(ctx).gql()?;
        Ok(services
            .reset_password(Some(caller), uuid_of(&id, "user")?, &password)
            .await
            .gql()?
            .into())
    }

    /// Delete a user and everything of theirs: devices, tokens, files and
    /// versions, schedules, settings, unfinished uploads (admins; never
    /// oneself, never the last enabled admin).
    async fn delete_user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let (services, caller) = context(ctx).gql()?;
        services
            .delete_user(Some(caller), uuid_of(&id, "user")?)
            .await
            .gql()?;
        Ok(true)
    }
}
