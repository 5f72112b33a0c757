//! Selective sync per device: edit the folders a device syncs, and check paths against
//! the server's own rule (`selectiveSyncCheck`), never a re-implementation of it.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, typed},
    operations::{
        ConfigureSelectiveSync, Devices, SelectiveSync, SelectiveSyncCheck,
        configure_selective_sync, devices, selective_sync, selective_sync_check,
    },
};

fn lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

fn split_device(device: &str) -> Result<(String, String), FormError> {
    device
        .split_once(':')
        .map(|(u, d)| (u.to_owned(), d.to_owned()))
        .ok_or_else(|| FormError::field("device", "Choose a device."))
}

/// What one folder of the tree is set to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Not configured: the rule of the folder above it applies.
    Inherit,
    /// Synced with everything below it.
    Sub,
    /// Synced, its own files only.
    Only,
    /// Left out with everything below it.
    Excluded,
    /// Its own files left out; subfolders follow the folder above.
    ExcludedOnly,
}

impl Mode {
    const ALL: [Mode; 5] = [
        Mode::Inherit,
        Mode::Sub,
        Mode::Only,
        Mode::Excluded,
        Mode::ExcludedOnly,
    ];

    fn value(self) -> &'static str {
        match self {
            Mode::Inherit => "inherit",
            Mode::Sub => "sub",
            Mode::Only => "only",
            Mode::Excluded => "excl",
            Mode::ExcludedOnly => "excl-only",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Mode::Inherit => "as the folder above",
            Mode::Sub => "synced, with subfolders",
            Mode::Only => "synced, this folder's files only",
            Mode::Excluded => "excluded",
            Mode::ExcludedOnly => "excluded, this folder's files only",
        }
    }

    fn parse(value: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.value() == value)
    }

    pub(crate) fn of(enabled: bool, include_subfolders: bool) -> Mode {
        match (enabled, include_subfolders) {
            (true, true) => Mode::Sub,
            (true, false) => Mode::Only,
            (false, true) => Mode::Excluded,
            (false, false) => Mode::ExcludedOnly,
        }
    }

    /// `(enabled, include_subfolders)`, or `None` for [`Mode::Inherit`].
    fn setting(self) -> Option<(bool, bool)> {
        match self {
            Mode::Inherit => None,
            Mode::Sub => Some((true, true)),
            Mode::Only => Some((true, false)),
            Mode::Excluded => Some((false, true)),
            Mode::ExcludedOnly => Some((false, false)),
        }
    }
}

/// One row of the editor: a real folder of the user, a configured path, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub path: String,
    pub mode: Mode,
    /// Whether the folder exists on the server (a configured path may not yet).
    pub exists: bool,
}

/// The editor's rows: every real folder and every configured path, by path;
/// each configured one with its setting, so that saving unchanged keeps it all.
pub(crate) fn rows(configured: &[(String, bool, bool)], real: &[String]) -> Vec<Row> {
    let mut rows: std::collections::BTreeMap<&str, Row> = real
        .iter()
        .map(|p| {
            let row = Row {
                path: p.clone(),
                mode: Mode::Inherit,
                exists: true,
            };
            (p.as_str(), row)
        })
        .collect();
    for (path, enabled, subfolders) in configured {
        let exists = path == "/" || rows.contains_key(path.as_str());
        rows.insert(
            path,
            Row {
                path: path.clone(),
                mode: Mode::of(*enabled, *subfolders),
                exists,
            },
        );
    }
    rows.into_values().collect()
}

/// The folders to save: each tree choice (`mode:path`) that is not
/// "as the folder above", then each typed new path with `new_mode`.
pub(crate) fn folders_to_save(
    tree: &[String],
    new_paths: &str,
    new_mode: &str,
) -> Result<Vec<(String, bool, bool)>, FormError> {
    let mut out = Vec::new();
    for choice in tree {
        let (mode, path) = choice
            .split_once(':')
            .and_then(|(m, p)| Mode::parse(m).map(|m| (m, p)))
            .ok_or_else(|| FormError::general(format!("unknown choice {choice:?}")))?;
        if let Some((enabled, subfolders)) = mode.setting() {
            out.push((path.to_owned(), enabled, subfolders));
        }
    }
    let typed: Vec<String> = lines(new_paths).collect();
    if !typed.is_empty() {
        let mode = Mode::parse(new_mode)
            .and_then(|m| m.setting().map(|s| (m, s)))
            .map(|(_, s)| s)
            .ok_or_else(|| FormError::field("new_mode", "Choose what the new folders do."))?;
        for path in typed {
            if out.iter().any(|(p, _, _)| *p == path) {
                return Err(FormError::field(
                    "new_paths",
                    format!("{path} is in the tree already: choose its setting there."),
                ));
            }
            out.push((path, mode.0, mode.1));
        }
    }
    Ok(out)
}

/// Save a device's folders: the tree's choices plus typed new paths.
#[server(name = SaveSelectiveFn, prefix = "/dashboard/fn", endpoint = "selective/save")]
pub async fn save_selective(
    device: String,
    #[server(default)] tree: Vec<String>,
    #[server(default)] new_paths: String,
    #[server(default)] new_mode: String,
) -> Result<(), FormError> {
    // Every choice comes back on an error (the tree's only while the list is short
    // enough to travel in the page's address).
    let mut kept = vec![
        ("new_paths", new_paths.as_str()),
        ("new_mode", new_mode.as_str()),
    ];
    if tree.iter().map(String::len).sum::<usize>() <= MAX_KEPT_TREE {
        kept.extend(tree.iter().map(|choice| ("tree", choice.as_str())));
    }
    save_folders(&device, &tree, &new_paths, &new_mode)
        .await
        .map_err(|e| e.keeping(&kept))?;
    leptos_axum::redirect(&format!("/selective?device={device}&saved=1"));
    Ok(())
}

/// Bytes of tree choices a refused save carries back to the page.
const MAX_KEPT_TREE: usize = 8 * 1024;

async fn save_folders(
    device: &str,
    tree: &[String],
    new_paths: &str,
    new_mode: &str,
) -> Result<(), FormError> {
    let api = Api::here();
    let (user_id, device_id) = split_device(device)?;
    let folders = folders_to_save(tree, new_paths, new_mode)?
        .into_iter()
        .map(
            |(path, enabled, include_subfolders)| configure_selective_sync::SyncFolderInput {
                path,
                enabled,
                include_subfolders,
            },
        )
        .collect();
    api.run::<ConfigureSelectiveSync>(configure_selective_sync::Variables {
        device_id,
        user_id: Some(user_id),
        folders,
    })
    .await
    .map_err(|e| {
        // A bad path can only be a typed one: the tree's come from the server.
        let about_paths = e.field.is_some() || e.code.contains("path");
        let mut error = FormError::from(e);
        if about_paths {
            error.field = Some("new_paths".into());
        }
        error
    })?;
    Ok(())
}

/// Check each line on its own, so one bad line does not hide the others' answers.
async fn check_each(
    api: &Api,
    device_id: &str,
    user_id: &str,
    check: &str,
) -> Vec<(String, Result<bool, String>)> {
    let paths: Vec<String> = lines(check).take(MAX_CHECKED).collect();
    let all = api
        .run::<SelectiveSyncCheck>(selective_sync_check::Variables {
            device_id: device_id.to_owned(),
            user_id: Some(user_id.to_owned()),
            paths: paths.clone(),
        })
        .await;
    if let Ok(all) = all {
        return all
            .selective_sync_check
            .into_iter()
            .map(|d| (d.path, Ok(d.synced)))
            .collect();
    }
    let mut out = Vec::new();
    for path in paths {
        let one = api
            .run::<SelectiveSyncCheck>(selective_sync_check::Variables {
                device_id: device_id.to_owned(),
                user_id: Some(user_id.to_owned()),
                paths: vec![path.clone()],
            })
            .await;
        out.push(match one {
            Ok(d) => match d.selective_sync_check.into_iter().next() {
                Some(d) => (d.path, Ok(d.synced)),
                None => (path, Err("no answer".to_owned())),
            },
            Err(e) => (path, Err(e.message)),
        });
    }
    out
}

/// Lines *Check paths* answers at most.
const MAX_CHECKED: usize = 200;

/// A file directly in `folder`, to ask the server whether the folder's own files sync.
fn probe(folder: &str) -> String {
    if folder == "/" {
        "/preview-file".to_owned()
    } else {
        format!("{folder}/preview-file")
    }
}

#[component]
pub fn SelectivePage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let device = query.get("device").unwrap_or_default();
    let check = query.get("check").unwrap_or_default();
    let save = ServerAction::<SaveSelectiveFn>::new();
    let error = error_of(save);
    // A refused save comes back to the address of the last good one.
    let saved = query.get("saved").is_some() && error.is_none();
    view! {
        <Layout title="Selective sync" current="/selective">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, device, check, error) = (
                        api.clone(),
                        device.clone(),
                        check.clone(),
                        error.clone(),
                    );
                    Suspend::new(async move {
                        let all = match api.run::<Devices>(devices::Variables).await {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let chooser = chooser(&all, &device);
                        let Ok((user_id, device_id)) = split_device(&device) else {
                            return chooser.into_any();
                        };
                        let data = match api
                            .run::<SelectiveSync>(selective_sync::Variables {
                                device_id: device_id.clone(),
                                user_id: Some(user_id.clone()),
                            })
                            .await
                        {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let configured: Vec<(String, bool, bool)> = data
                            .selective_sync
                            .iter()
                            .map(|f| (f.path.clone(), f.enabled, f.include_subfolders))
                            .collect();
                        let mut rows = rows(&configured, &data.folders);
                        if let Some(error) = &error {
                            keep_choices(&mut rows, error);
                        }
                        // The preview: whether each folder's own files reach the device.
                        let preview = api
                            .run::<SelectiveSyncCheck>(selective_sync_check::Variables {
                                device_id: device_id.clone(),
                                user_id: Some(user_id.clone()),
                                paths: rows.iter().map(|r| probe(&r.path)).collect(),
                            })
                            .await
                            .map(|d| {
                                d.selective_sync_check.into_iter().map(|d| d.synced).collect::<Vec<_>>()
                            })
                            .unwrap_or_default();
                        let decisions = if check.trim().is_empty() {
                            None
                        } else {
                            Some(check_each(&api, &device_id, &user_id, &check).await)
                        };
                        let check_view = check_panel(&device, &check, decisions);
                        let tree = tree_view(&rows, &preview);
                        view! {
                            {chooser}
                            {saved
                                .then(|| {
                                    view! {
                                        <p class="notice ok" role="status" id="saved">
                                            "Saved."
                                        </p>
                                    }
                                })}
                            <div class="grid">
                                <section class="panel" aria-labelledby="folders-title">
                                    <h2 id="folders-title">"Folders this device syncs"</h2>
                                    <p class="hint">
                                        "With nothing set, everything syncs. Once any folder is synced, only synced folders reach the device. The deepest setting above a path decides."
                                    </p>
                                    <FormNotice error=error.clone() />
                                    <ActionForm action=save>
                                        <div class="stack-form">
                                            <input type="hidden" name="device" value=device.clone() />
                                            {tree}
                                            <div class="field">
                                                <label for="new_paths">
                                                    "Folders not on the server yet, one per line"
                                                </label>
                                                <textarea id="new_paths" name="new_paths">
                                                    {typed(error.as_ref(), "new_paths", "")}
                                                </textarea>
                                                <FieldError error=error.clone() field="new_paths" />
                                            </div>
                                            <div class="field">
                                                <label for="new_mode">"These new folders are"</label>
                                                <select id="new_mode" name="new_mode">
                                                    {Mode::ALL[1..]
                                                        .iter()
                                                        .map(|m| {
                                                            let chosen = error
                                                                .as_ref()
                                                                .and_then(|e| e.kept("new_mode"))
                                                                == Some(m.value());
                                                            view! {
                                                                <option value=m.value() selected=chosen>
                                                                    {m.label()}
                                                                </option>
                                                            }
                                                        })
                                                        .collect_view()}
                                                </select>
                                                <FieldError error=error.clone() field="new_mode" />
                                            </div>
                                            <button type="submit" id="save-folders">
                                                "Save folders"
                                            </button>
                                        </div>
                                    </ActionForm>
                                </section>
                                {check_view}
                            </div>
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

/// Show the tree's choices as they were posted before `error`.
fn keep_choices(rows: &mut [Row], error: &FormError) {
    for (name, choice) in &error.kept {
        let parsed = choice
            .split_once(':')
            .and_then(|(m, p)| Mode::parse(m).map(|m| (m, p)));
        if let (true, Some((mode, path))) = (name == "tree", parsed)
            && let Some(row) = rows.iter_mut().find(|r| r.path == path)
        {
            row.mode = mode;
        }
    }
}

/// The folder tree: one choice per folder, indented by depth, with whether
/// its own files reach the device as saved now.
fn tree_view(rows: &[Row], preview: &[bool]) -> impl IntoView + use<> {
    if rows.is_empty() {
        return view! { <p class="hint" id="folder-tree">"This user has no folders yet."</p> }
            .into_any();
    }
    let items = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let depth = row.path.matches('/').count().saturating_sub(1);
            let name = format!("tree[{i}]");
            let id = format!("tree-{i}");
            let options = Mode::ALL
                .iter()
                .map(|m| {
                    let value = format!("{}:{}", m.value(), row.path);
                    view! {
                        <option value=value selected=*m == row.mode>
                            {m.label()}
                        </option>
                    }
                })
                .collect_view();
            let gets = preview.get(i).copied();
            let badge = gets.map(|synced| {
                let (class, label) = if synced {
                    ("badge ok", "gets its files")
                } else {
                    ("badge off", "left out")
                };
                view! { <span class=class>{label}</span> }
            });
            let missing = (!row.exists)
                .then(|| view! { <span class="hint">" (not on the server yet)"</span> });
            view! {
                <li
                    data-path=row.path.clone()
                    data-mode=row.mode.value()
                    style=format!("padding-left: {}rem", depth)
                >
                    <label for=id.clone() class="mono">{row.path.clone()}</label>
                    {missing}
                    " "
                    <select id=id name=name>
                        {options}
                    </select>
                    " "
                    {badge}
                </li>
            }
        })
        .collect_view();
    view! {
        <ul class="feed tree" id="folder-tree">
            {items}
        </ul>
    }
    .into_any()
}

fn chooser(all: &devices::ResponseData, current: &str) -> impl IntoView + use<> {
    let options = all
        .all_devices
        .iter()
        .map(|d| {
            let value = format!("{}:{}", d.user_id, d.device_id);
            let user = all
                .users
                .iter()
                .find(|u| u.id == d.user_id)
                .map_or(d.user_id.clone(), |u| u.username.clone());
            let selected = value == current;
            view! {
                <option value=value selected=selected>
                    {format!("{user} / {} ({})", d.device_id, d.name)}
                </option>
            }
        })
        .collect_view();
    view! {
        <form method="get" action="/selective" class="panel">
            <div class="row">
                <div class="field">
                    <label for="device">"Device"</label>
                    <select id="device" name="device">
                        {options}
                    </select>
                </div>
                <div class="field">
                    <span class="hint">" "</span>
                    <button type="submit" id="open-device">
                        "Open"
                    </button>
                </div>
            </div>
        </form>
    }
}

fn check_panel(
    device: &str,
    check: &str,
    decisions: Option<Vec<(String, Result<bool, String>)>>,
) -> impl IntoView + use<> {
    let results = decisions.map(|decisions| {
        view! {
            <ul class="feed" id="check-results" aria-live="polite">
                {decisions
                    .into_iter()
                    .map(|(path, answer)| {
                        let (class, label, synced) = match &answer {
                            Ok(true) => ("badge ok", "synced".to_owned(), "true"),
                            Ok(false) => ("badge off", "not synced".to_owned(), "false"),
                            Err(message) => ("field-error", message.clone(), "error"),
                        };
                        view! {
                            <li data-path=path.clone() data-synced=synced>
                                <span class="mono">{path.clone()}</span>
                                " "
                                <span class=class>{label}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        <section class="panel" aria-labelledby="check-title">
            <h2 id="check-title">"Check paths"</h2>
            <form method="get" action="/selective" class="stack-form">
                <input type="hidden" name="device" value=device.to_owned() />
                <div class="field">
                    <label for="check">"Paths, one per line"</label>
                    <textarea id="check" name="check">
                        {check.to_owned()}
                    </textarea>
                </div>
                <button type="submit" id="check-paths" class="secondary">
                    "Check"
                </button>
            </form>
            {results}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(path: &str, enabled: bool, sub: bool) -> (String, bool, bool) {
        (path.to_owned(), enabled, sub)
    }

    #[test]
    fn an_unchanged_save_keeps_every_setting_exclusions_included() {
        let configured = vec![
            c("/Photos", true, true),
            c("/Photos/Raw", false, true),
            c("/Later", false, false),
        ];
        let real = vec![
            "/Music".to_owned(),
            "/Photos".to_owned(),
            "/Photos/Raw".to_owned(),
        ];
        let rows = rows(&configured, &real);
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/Later", "/Music", "/Photos", "/Photos/Raw"]);
        assert!(!rows[0].exists && rows[1].exists);
        // What the form posts when nothing is touched.
        let posted: Vec<String> = rows
            .iter()
            .map(|r| format!("{}:{}", r.mode.value(), r.path))
            .collect();
        let mut saved = folders_to_save(&posted, "", "sub").expect("saved");
        saved.sort();
        let mut expected = configured.clone();
        expected.sort();
        assert_eq!(saved, expected);
    }

    #[test]
    fn typed_paths_take_the_chosen_mode_and_may_not_repeat_the_tree() {
        let saved = folders_to_save(&["inherit:/A".into()], "/New\n /Other \n", "excl").unwrap();
        assert_eq!(
            saved,
            vec![c("/New", false, true), c("/Other", false, true)]
        );
        let err = folders_to_save(&["sub:/A".into()], "/A", "sub").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("new_paths"));
        let err = folders_to_save(&[], "/B", "inherit").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("new_mode"));
        assert!(folders_to_save(&["bogus:/A".into()], "", "sub").is_err());
    }
}
