//! The table of live tokens that My devices and an admin's Users page both show.
use leptos::prelude::*;

use crate::pages::when;

/// One live token as the table shows it.
pub(crate) struct TokenRow {
    pub id: String,
    pub name: String,
    /// The client `device_id` it is bound to, or a note that it is not bound.
    pub device: String,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// The client `device_id` of the device a token is bound to (`devices`: id → device_id).
pub(crate) fn bound_device(device: Option<&String>, devices: &[(String, String)]) -> String {
    device
        .and_then(|id| devices.iter().find(|(d, _)| d == id))
        .map(|(_, name)| name.clone())
        .unwrap_or_else(|| "any (not bound)".into())
}

/// `<table id=table_id>` of `rows`, each with the form `revoke` makes for its id.
pub(crate) fn token_table(
    table_id: &'static str,
    rows: Vec<TokenRow>,
    revoke: impl Fn(String) -> AnyView,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table id=table_id class="cards">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|t| {
                            let form = revoke(t.id.clone());
                            view! {
                                <tr data-token=t.id>
                                    <td data-label="Name">{t.name}</td>
                                    <td data-label="Device" class="mono">{t.device}</td>
                                    <td data-label="Created">{when(&t.created_at)}</td>
                                    <td data-label="Expires">
                                        {t.expires_at.as_deref().map(when).unwrap_or_else(|| "never".into())}
                                    </td>
                                    <td class="actions">{form}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
