//! Users and their devices.
use leptos::prelude::*;

use crate::{
    app::{Layout, load_error},
    client::Api,
    operations::{UsersAndDevices, users_and_devices},
    pages::when,
};

#[component]
pub fn UsersPage() -> impl IntoView {
    let api = Api::here();
    view! {
        <Layout title="Users & devices" current="/users">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let api = api.clone();
                    Suspend::new(async move {
                        match api.run::<UsersAndDevices>(users_and_devices::Variables).await {
                            Ok(data) => users(data),
                            Err(e) => load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn users(data: users_and_devices::ResponseData) -> AnyView {
    let devices = data.all_devices;
    data.users
        .into_iter()
        .map(|user| {
            let theirs: Vec<_> = devices
                .iter()
                .filter(|d| d.user_id == user.id)
                .cloned()
                .collect();
            let (role, role_class) = match user.role {
                users_and_devices::Role::ADMIN => ("admin", "badge warn"),
                _ => ("user", "badge off"),
            };
            view! {
                <section class="panel" data-user=user.username.clone()>
                    <h2>
                        {user.username.clone()} " " <span class=role_class>{role}</span>
                        {user
                            .disabled
                            .then(|| view! { <span class="badge bad">"disabled"</span> })}
                    </h2>
                    <p class="hint">{format!("Since {}", when(&user.created_at))}</p>
                    {if theirs.is_empty() {
                        view! { <p class="muted">"No device yet."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap">
                                <table>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Device"</th>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Platform"</th>
                                            <th scope="col">"Last seen"</th>
                                            <th scope="col"></th>
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
                                                view! {
                                                    <tr>
                                                        <td class="mono">{d.device_id.clone()}</td>
                                                        <td>{d.name.clone()}</td>
                                                        <td>{d.platform.clone()}</td>
                                                        <td>
                                                            {d
                                                                .last_seen_at
                                                                .as_deref()
                                                                .map(when)
                                                                .unwrap_or_else(|| "never".into())}
                                                        </td>
                                                        <td>
                                                            <a href=href>"Selective sync"</a>
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
                    }}
                </section>
            }
        })
        .collect_view()
        .into_any()
}
