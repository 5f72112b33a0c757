//! Users and their devices, for admins: create a user; disable or enable one
//! (their sessions and sockets end at once), reset a password (every session of
//! theirs ends), change a role, delete a user with everything of theirs; remove
//! anyone's device, see and revoke anyone's tokens.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, typed},
    operations::{
        CreateUser, DeleteUser, RemoveDevice, ResetPassword, RevokeToken, SetUserDisabled,
        SetUserRole, UserTokens, UsersAndDevices, create_user, delete_user, remove_device,
        reset_password, revoke_token, set_user_disabled, set_user_role, user_tokens,
        users_and_devices,
    },
    pages::{
        encode,
        tokens::{TokenRow, bound_device, token_table},
        when,
    },
};

fn done(message: &str) {
    leptos_axum::redirect(&format!("/users?done={}", encode(message)));
}

/// Create a user.
#[server(name = CreateUserFn, prefix = "/dashboard/fn", endpoint = "users/create")]
pub async fn create_user(
    username: String,
    password: String,
    role: String,
) -> Result<(), FormError> {
    // What was typed comes back on an error, but never the password.
    let kept = [("username", username.as_str()), ("role", role.as_str())];
    let username = username.trim().to_owned();
    async {
        if username.is_empty() {
            return Err(FormError::field("username", "Enter a username."));
        }
        let role = match role.as_str() {
            "admin" => create_user::Role::ADMIN,
            _ => create_user::Role::USER,
        };
        Api::here()
            .run::<CreateUser>(create_user::Variables {
                username: username.clone(),
                password,
                role,
            })
            .await?;
        Ok(())
    }
    .await
    .map_err(|e: FormError| e.keeping(&kept))?;
    done(&format!("Created {username}."));
    Ok(())
}

/// Disable (`disabled = "true"`) or enable a user.
#[server(name = SetDisabledFn, prefix = "/dashboard/fn", endpoint = "users/disabled")]
pub async fn set_disabled(id: String, username: String, disabled: String) -> Result<(), FormError> {
    let disabled = disabled == "true";
    Api::here()
        .run::<SetUserDisabled>(set_user_disabled::Variables { id, disabled })
        .await?;
    done(&if disabled {
        format!("Disabled {username}: their sessions and connections ended.")
    } else {
        format!("Enabled {username}.")
    });
    Ok(())
}

/// Change a user's role.
#[server(name = SetRoleFn, prefix = "/dashboard/fn", endpoint = "users/role")]
pub async fn set_role(id: String, username: String, role: String) -> Result<(), FormError> {
    let (role, label) = match role.as_str() {
        "admin" => (set_user_role::Role::ADMIN, "an admin"),
        "user" => (set_user_role::Role::USER, "a user"),
        _ => return Err(FormError::field("role", "Choose a role.")),
    };
    Api::here()
        .run::<SetUserRole>(set_user_role::Variables { id, role })
        .await?;
    done(&format!("{username} is {label} now."));
    Ok(())
}

/// Set a new password for a user: every session of theirs ends.
#[server(name = ResetPasswordFn, prefix = "/dashboard/fn", endpoint = "users/password")]
pub async fn reset_password(
    id: String,
    username: String,
    password: String,
) -> Result<(), FormError> {
    Api::here()
        .run::<ResetPassword>(reset_password::Variables { id, password })
        .await?;
    done(&format!(
        "New password set for {username}; their sessions ended."
    ));
    Ok(())
}

/// Delete a user with everything of theirs; the box must be ticked.
#[server(name = DeleteUserFn, prefix = "/dashboard/fn", endpoint = "users/delete")]
pub async fn delete_user(
    id: String,
    username: String,
    confirm: Option<String>,
) -> Result<(), FormError> {
    if confirm.is_none() {
        return Err(FormError::field(
            "confirm",
            format!("Tick the box to delete {username} and all of their files."),
        ));
    }
    Api::here()
        .run::<DeleteUser>(delete_user::Variables { id })
        .await?;
    done(&format!("Deleted {username} and everything of theirs."));
    Ok(())
}

/// Remove anyone's device.
#[server(name = RemoveUserDeviceFn, prefix = "/dashboard/fn", endpoint = "users/remove-device")]
pub async fn remove_user_device(user_id: String, device_id: String) -> Result<(), FormError> {
    Api::here()
        .run::<RemoveDevice>(remove_device::Variables {
            device_id: device_id.clone(),
            user_id: Some(user_id),
        })
        .await?;
    done(&format!("Removed device {device_id}."));
    Ok(())
}

/// Revoke anyone's token; back to that user's token list.
#[server(name = RevokeUserTokenFn, prefix = "/dashboard/fn", endpoint = "users/revoke-token")]
pub async fn revoke_user_token(user_id: String, id: String) -> Result<(), FormError> {
    Api::here()
        .run::<RevokeToken>(revoke_token::Variables { id })
        .await?;
    leptos_axum::redirect(&format!("/users?tokens={}&revoked=1", encode(&user_id)));
    Ok(())
}

/// Every action of this page, for its forms.
#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateUserFn>,
    disabled: ServerAction<SetDisabledFn>,
    role: ServerAction<SetRoleFn>,
    password: ServerAction<ResetPasswordFn>,
    delete: ServerAction<DeleteUserFn>,
    remove_device: ServerAction<RemoveUserDeviceFn>,
    revoke: ServerAction<RevokeUserTokenFn>,
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let message = query.get("done").filter(|_| query.get("__err").is_none());
    let tokens_of = query.get("tokens");
    let actions = Actions {
        create: ServerAction::new(),
        disabled: ServerAction::new(),
        role: ServerAction::new(),
        password: ServerAction::new(),
        delete: ServerAction::new(),
        remove_device: ServerAction::new(),
        revoke: ServerAction::new(),
    };
    let create_error = error_of(actions.create);
    let error = error_of(actions.disabled)
        .or_else(|| error_of(actions.role))
        .or_else(|| error_of(actions.password))
        .or_else(|| error_of(actions.delete))
        .or_else(|| error_of(actions.remove_device))
        .or_else(|| error_of(actions.revoke))
        // Shown at the top (a reset's password error too), except the delete
        // box's, which sits beside its box.
        .map(|e| match e.field.as_deref() {
            Some("confirm") => e,
            _ => FormError::general(e.message),
        });
    view! {
        <Layout title="Users & devices" current="/users">
            {message
                .map(|m| {
                    view! {
                        <p class="notice ok" role="status" id="done">
                            {m}
                        </p>
                    }
                })}
            <FormNotice error=error.clone() />
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, tokens_of, error, create_error) = (
                        api.clone(),
                        tokens_of.clone(),
                        error.clone(),
                        create_error.clone(),
                    );
                    Suspend::new(async move {
                        let data = match api
                            .run::<UsersAndDevices>(users_and_devices::Variables)
                            .await
                        {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let tokens = match tokens_of {
                            Some(user_id) => {
                                match api
                                    .run::<UserTokens>(user_tokens::Variables {
                                        user_id: Some(user_id.clone()),
                                    })
                                    .await
                                {
                                    Ok(t) => Some((user_id, t)),
                                    Err(e) => return load_error(e),
                                }
                            }
                            None => None,
                        };
                        view! {
                            {tokens.map(|(user_id, t)| tokens_panel(&data, user_id, t, actions))}
                            {create_form(create_error, actions)}
                            {users(data, error, actions)}
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn create_form(error: Option<FormError>, actions: Actions) -> impl IntoView {
    let username = typed(error.as_ref(), "username", "");
    let admin = error.as_ref().and_then(|e| e.kept("role")) == Some("admin");
    view! {
        <section class="panel" aria-labelledby="new-user">
            <h2 id="new-user">"New user"</h2>
            <FormNotice error=error.clone() />
            <ActionForm action=actions.create>
                <div class="row">
                    <div class="field">
                        <label for="new-username">"Username"</label>
                        <input
                            id="new-username"
                            name="username"
                            autocomplete="off"
                            required
                            value=username
                        />
                        <FieldError error=error.clone() field="username" />
                    </div>
                    <div class="field">
                        <label for="new-password">"Password"</label>
                        <input
                            id="new-password"
                            name="password"
                            type="password"
                            autocomplete="new-password"
                            minlength="8"
                            required
                        />
                        <span class="hint">"8 characters or more."</span>
                        <FieldError error=error.clone() field="password" />
                    </div>
                    <div class="field">
                        <label for="new-role">"Role"</label>
                        <select id="new-role" name="role">
                            <option value="user" selected=!admin>
                                "user"
                            </option>
                            <option value="admin" selected=admin>
                                "admin"
                            </option>
                        </select>
                    </div>
                </div>
                <p>
                    <button type="submit" id="create-user">
                        "Create user"
                    </button>
                </p>
            </ActionForm>
        </section>
    }
}

fn users(
    data: users_and_devices::ResponseData,
    error: Option<FormError>,
    actions: Actions,
) -> AnyView {
    let devices = data.all_devices;
    data.users
        .into_iter()
        .map(|user| {
            let theirs: Vec<_> = devices
                .iter()
                .filter(|d| d.user_id == user.id)
                .cloned()
                .collect();
            let admin = matches!(user.role, users_and_devices::Role::ADMIN);
            let (role, role_class) = if admin {
                ("admin", "badge warn")
            } else {
                ("user", "badge off")
            };
            let tokens_href = format!("/users?tokens={}", encode(&user.id));
            view! {
                <section class="panel" data-user=user.username.clone()>
                    <h2>
                        {user.username.clone()} " " <span class=role_class>{role}</span>
                        {user
                            .disabled
                            .then(|| view! { <span class="badge bad">"disabled"</span> })}
                    </h2>
                    <p class="hint">
                        {format!("Since {} · ", when(&user.created_at))}
                        <a href=tokens_href class="tokens">"Tokens"</a>
                    </p>
                    {user_actions(&user, admin, error.clone(), actions)}
                    {devices_table(&user.id, theirs, actions)}
                </section>
            }
        })
        .collect_view()
        .into_any()
}

fn user_actions(
    user: &users_and_devices::UsersAndDevicesUsers,
    admin: bool,
    error: Option<FormError>,
    actions: Actions,
) -> impl IntoView + use<> {
    let (id, name) = (user.id.clone(), user.username.clone());
    let (toggle_value, toggle_label, toggle_class) = if user.disabled {
        ("false", "Enable", "secondary enable")
    } else {
        ("true", "Disable", "danger disable")
    };
    let (other_role, other_label) = if admin {
        ("user", "Make user")
    } else {
        ("admin", "Make admin")
    };
    let password_id = format!("password-{id}");
    let confirm_id = format!("confirm-{id}");
    let (i1, i2, i3, i4) = (id.clone(), id.clone(), id.clone(), id.clone());
    let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
    view! {
        <div class="actions user-actions">
            <ActionForm action=actions.disabled>
                <input type="hidden" name="id" value=i1 />
                <input type="hidden" name="username" value=n1 />
                <input type="hidden" name="disabled" value=toggle_value />
                <button type="submit" class=toggle_class>
                    {toggle_label}
                </button>
            </ActionForm>
            <ActionForm action=actions.role>
                <input type="hidden" name="id" value=i2 />
                <input type="hidden" name="username" value=n2 />
                <input type="hidden" name="role" value=other_role />
                <button type="submit" class="secondary role">
                    {other_label}
                </button>
            </ActionForm>
            <ActionForm action=actions.password>
                <div class="actions">
                    <input type="hidden" name="id" value=i3 />
                    <input type="hidden" name="username" value=n3 />
                    <label class="sr-only" for=password_id.clone()>
                        {format!("New password for {name}")}
                    </label>
                    <input
                        id=password_id
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        placeholder="New password"
                        minlength="8"
                        required
                    />
                    <button type="submit" class="secondary reset">
                        "Set password"
                    </button>
                </div>
            </ActionForm>
            <ActionForm action=actions.delete>
                <div class="actions">
                    <input type="hidden" name="id" value=i4 />
                    <input type="hidden" name="username" value=n4 />
                    <input type="checkbox" id=confirm_id.clone() name="confirm" value="yes" />
                    <label for=confirm_id>"Delete with all files"</label>
                    <button type="submit" class="danger delete">
                        "Delete user"
                    </button>
                </div>
            </ActionForm>
        </div>
        <FieldError error=error field="confirm" />
    }
}

fn devices_table(
    user_id: &str,
    theirs: Vec<users_and_devices::UsersAndDevicesAllDevices>,
    actions: Actions,
) -> AnyView {
    if theirs.is_empty() {
        return view! { <p class="muted">"No device yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="cards">
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Platform"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {theirs
                        .into_iter()
                        .map(|d| {
                            let href = format!(
                                "/selective?device={}:{}",
                                d.user_id,
                                d.device_id,
                            );
                            let (owner, device) = (user_id.to_owned(), d.device_id.clone());
                            view! {
                                <tr data-device=d.device_id.clone()>
                                    <td data-label="Device" class="mono">{d.device_id.clone()}</td>
                                    <td data-label="Name">{d.name.clone()}</td>
                                    <td data-label="Platform">{d.platform.clone()}</td>
                                    <td data-label="Last seen">
                                        {d
                                            .last_seen_at
                                            .as_deref()
                                            .map(when)
                                            .unwrap_or_else(|| "never".into())}
                                    </td>
                                    <td class="actions">
                                        <a href=href>"Selective sync"</a>
                                        <ActionForm action=actions.remove_device>
                                            <input type="hidden" name="user_id" value=owner />
                                            <input type="hidden" name="device_id" value=device />
                                            <button type="submit" class="danger remove-device">
                                                "Remove"
                                            </button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn tokens_panel(
    data: &users_and_devices::ResponseData,
    user_id: String,
    tokens: user_tokens::ResponseData,
    actions: Actions,
) -> impl IntoView + use<> {
    let username = data
        .users
        .iter()
        .find(|u| u.id == user_id)
        .map(|u| u.username.clone())
        .unwrap_or_else(|| user_id.clone());
    let devices: Vec<(String, String)> = tokens
        .devices
        .into_iter()
        .map(|d| (d.id, d.device_id))
        .collect();
    let live: Vec<TokenRow> = tokens
        .tokens
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| TokenRow {
            device: bound_device(t.device.as_ref(), &devices),
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            expires_at: t.expires_at,
        })
        .collect();
    view! {
        <section class="panel" aria-labelledby="tokens-title">
            <h2 id="tokens-title">{format!("Tokens of {username}")}</h2>
            {live.is_empty().then(|| view! { <p class="muted">"No live token."</p> })}
            {token_table(
                "user-tokens",
                live,
                move |id| {
                    let owner = user_id.clone();
                    view! {
                        <ActionForm action=actions.revoke>
                            <input type="hidden" name="user_id" value=owner />
                            <input type="hidden" name="id" value=id />
                            <button type="submit" class="danger revoke">
                                "Revoke"
                            </button>
                        </ActionForm>
                    }
                        .into_any()
                },
            )}
        </section>
    }
}
