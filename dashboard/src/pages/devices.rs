//! My devices, for every signed-in user: rename or remove one's devices (a
//! removed device's tokens, schedules and selective sync go with it), and see
//! and revoke one's tokens.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, typed},
    operations::{
        MyDevices, RemoveDevice, RenameDevice, RevokeToken, my_devices, remove_device,
        rename_device, revoke_token,
    },
    pages::{
        encode,
        tokens::{TokenRow, bound_device, token_table},
        when,
    },
};

/// Rename one of the caller's devices.
#[server(name = RenameDeviceFn, prefix = "/dashboard/fn", endpoint = "devices/rename")]
pub async fn rename_device(device_id: String, name: String) -> Result<(), FormError> {
    let kept = [("device_id", device_id.as_str()), ("name", name.as_str())];
    if name.trim().is_empty() {
        return Err(FormError::field("name", "Give the device a name.").keeping(&kept));
    }
    Api::here()
        .run::<RenameDevice>(rename_device::Variables {
            device_id: device_id.clone(),
            name: name.trim().to_owned(),
            user_id: None,
        })
        .await
        .map_err(|e| FormError::from(e).keeping(&kept))?;
    leptos_axum::redirect(&format!("/devices?renamed={}", encode(&device_id)));
    Ok(())
}

/// Remove one of the caller's devices.
#[server(name = RemoveDeviceFn, prefix = "/dashboard/fn", endpoint = "devices/remove")]
pub async fn remove_device(device_id: String) -> Result<(), FormError> {
    Api::here()
        .run::<RemoveDevice>(remove_device::Variables {
            device_id: device_id.clone(),
            user_id: None,
        })
        .await?;
    leptos_axum::redirect(&format!("/devices?removed={}", encode(&device_id)));
    Ok(())
}

/// Revoke one of the caller's tokens (the session's own too: that signs out).
#[server(name = RevokeTokenFn, prefix = "/dashboard/fn", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<RevokeToken>(revoke_token::Variables { id })
        .await?;
    leptos_axum::redirect("/devices?revoked=1");
    Ok(())
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let done = if query.get("__err").is_some() {
        None
    } else if let Some(device) = query.get("renamed") {
        Some(format!("Renamed {device}."))
    } else if let Some(device) = query.get("removed") {
        Some(format!(
            "Removed {device}: its tokens, schedules and selective sync went with it."
        ))
    } else {
        query.get("revoked").map(|_| "Token revoked.".to_owned())
    };
    let rename = ServerAction::<RenameDeviceFn>::new();
    let remove = ServerAction::<RemoveDeviceFn>::new();
    let revoke = ServerAction::<RevokeTokenFn>::new();
    let rename_error = error_of(rename);
    let error = error_of(remove).or_else(|| error_of(revoke));
    view! {
        <Layout title="My devices" current="/devices">
            {done
                .map(|message| {
                    view! {
                        <p class="notice ok" role="status" id="done">
                            {message}
                        </p>
                    }
                })}
            <FormNotice error=error />
            <FormNotice error=rename_error.clone() />
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, rename_error) = (api.clone(), rename_error.clone());
                    Suspend::new(async move {
                        match api.run::<MyDevices>(my_devices::Variables).await {
                            Ok(data) => page(data, rename, remove, revoke, rename_error),
                            Err(e) => load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn page(
    data: my_devices::ResponseData,
    rename: ServerAction<RenameDeviceFn>,
    remove: ServerAction<RemoveDeviceFn>,
    revoke: ServerAction<RevokeTokenFn>,
    rename_error: Option<FormError>,
) -> AnyView {
    let names: Vec<(String, String)> = data
        .devices
        .iter()
        .map(|d| (d.id.clone(), d.device_id.clone()))
        .collect();
    let live: Vec<TokenRow> = data
        .tokens
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| TokenRow {
            device: bound_device(t.device.as_ref(), &names),
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            expires_at: t.expires_at,
        })
        .collect();
    view! {
        <section class="panel" aria-labelledby="devices-title">
            <h2 id="devices-title">"Devices"</h2>
            {data
                .devices
                .is_empty()
                .then(|| {
                    view! {
                        <p class="muted">
                            "No device yet: sign in from one with "
                            <code>"ferry sync init"</code>
                            "."
                        </p>
                    }
                })}
            <div class="table-wrap">
                <table id="devices" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"Device"</th>
                            <th scope="col">"Platform"</th>
                            <th scope="col">"Last seen"</th>
                            <th scope="col">"Name and actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {data
                            .devices
                            .into_iter()
                            .map(|d| {
                                // A refused rename shows what was typed, and its message,
                                // in the row it was typed in.
                                let field_error = rename_error
                                    .clone()
                                    .filter(|e| e.kept("device_id").is_none_or(|id| id == d.device_id));
                                let (for_rename, for_remove) = (d.device_id.clone(), d.device_id.clone());
                                let name_id = format!("name-{}", d.id);
                                let name = match &field_error {
                                    Some(e) if e.kept("device_id").is_some() => typed(Some(e), "name", d.name.clone()),
                                    _ => d.name.clone(),
                                };
                                view! {
                                    <tr data-device=d.device_id.clone()>
                                        <td data-label="Device" class="mono">
                                            {d.device_id.clone()}
                                        </td>
                                        <td data-label="Platform">{d.platform.clone()}</td>
                                        <td data-label="Last seen">
                                            {d
                                                .last_seen_at
                                                .as_deref()
                                                .map(when)
                                                .unwrap_or_else(|| "never".into())}
                                        </td>
                                        <td class="actions">
                                            <ActionForm action=rename>
                                                <div class="actions">
                                                    <input type="hidden" name="device_id" value=for_rename />
                                                    <label class="sr-only" for=name_id.clone()>
                                                        "Name"
                                                    </label>
                                                    <input
                                                        id=name_id
                                                        name="name"
                                                        value=name
                                                        maxlength="128"
                                                        required
                                                    />
                                                    <button type="submit" class="secondary rename">
                                                        "Rename"
                                                    </button>
                                                </div>
                                                <FieldError error=field_error field="name" />
                                            </ActionForm>
                                            <ActionForm action=remove>
                                                <input type="hidden" name="device_id" value=for_remove />
                                                <button type="submit" class="danger remove">
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
        </section>
        <section class="panel" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"Tokens"</h2>
            <p class="hint">
                "Each sign-in (this dashboard's too) holds a token; revoking one signs that client out at once."
            </p>
            {token_table(
                "tokens",
                live,
                move |id| {
                    view! {
                        <ActionForm action=revoke>
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
    .into_any()
}
