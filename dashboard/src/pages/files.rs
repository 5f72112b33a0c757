//! My files, for every signed-in user: browse one's own folders, download a file
//! (any version), see its history and restore a version (a restore is a new
//! version), delete a file (its history stays, so it can be restored).
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FormError, FormNotice, error_of},
    operations::{
        DeleteFile, FileVersions, Folder, RestoreFileVersion, delete_file, file_versions, folder,
        restore_file_version,
    },
    pages::{bytes, encode, name_of, when},
};

/// Restore one version of one of the caller's files; back to its history.
#[server(name = RestoreVersionFn, prefix = "/dashboard/fn", endpoint = "files/restore")]
pub async fn restore_version(path: String, version: String) -> Result<(), FormError> {
    let version: i64 = version
        .trim()
        .parse()
        .map_err(|_| FormError::field("version", "Choose a version to restore."))?;
    let answer = Api::here()
        .run::<RestoreFileVersion>(restore_file_version::Variables {
            path: path.clone(),
            version,
        })
        .await?;
    leptos_axum::redirect(&format!(
        "/files?file={}&restored={version}&now={}",
        encode(&path),
        answer.restore_file_version.version
    ));
    Ok(())
}

/// Delete one of the caller's files; back to its folder, which says how to undo it.
#[server(name = DeleteFileFn, prefix = "/dashboard/fn", endpoint = "files/delete")]
pub async fn delete_file(path: String) -> Result<(), FormError> {
    Api::here()
        .run::<DeleteFile>(delete_file::Variables { path: path.clone() })
        .await?;
    let parent = match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    };
    leptos_axum::redirect(&format!(
        "/files?folder={}&deleted={}",
        encode(parent),
        encode(&path)
    ));
    Ok(())
}

#[component]
pub fn FilesPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let folder = query.get("folder").unwrap_or_else(|| "/".to_owned());
    let file = query.get("file");
    let refused = query.get("__err").is_some();
    let restored = query
        .get("restored")
        .zip(query.get("now"))
        .filter(|_| !refused);
    let deleted = query.get("deleted").filter(|_| !refused);
    let restore = ServerAction::<RestoreVersionFn>::new();
    let delete = ServerAction::<DeleteFileFn>::new();
    let error = error_of(restore).or_else(|| error_of(delete));
    view! {
        <Layout title="My files" current="/files">
            <FormNotice error=error />
            {restored
                .map(|(from, now)| {
                    view! {
                        <p class="notice ok" role="status" id="restored">
                            {format!("Version {from} restored: it is now version {now}.")}
                        </p>
                    }
                })}
            {deleted
                .clone()
                .map(|path| {
                    let history = format!("/files?file={}", encode(&path));
                    view! {
                        <p class="notice ok" role="status" id="deleted">
                            {format!("{path} deleted. ")}
                            <a href=history>"Restore it from its history"</a>
                        </p>
                    }
                })}
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, folder, file) = (api.clone(), folder.clone(), file.clone());
                    Suspend::new(async move {
                        match file {
                            Some(path) => {
                                match api
                                    .run::<FileVersions>(file_versions::Variables {
                                        path: path.clone(),
                                    })
                                    .await
                                {
                                    Ok(data) => history(&path, data.file_versions, restore),
                                    Err(e) => load_error(e),
                                }
                            }
                            None => {
                                match api
                                    .run::<Folder>(folder::Variables {
                                        path: folder.clone(),
                                    })
                                    .await
                                {
                                    Ok(data) => listing(data.folder, delete),
                                    Err(e) => load_error(e),
                                }
                            }
                        }
                    })
                }}
            </Suspense>
        </Layout>
    }
}

/// `/` › `Photos` › `2026`: each ancestor a link to its listing.
fn breadcrumbs(path: &str, last_is_link: bool) -> impl IntoView + use<> {
    let mut crumbs = vec![("/".to_owned(), "My files".to_owned())];
    let mut at = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        at.push('/');
        at.push_str(segment);
        crumbs.push((at.clone(), segment.to_owned()));
    }
    let count = crumbs.len();
    view! {
        <nav aria-label="Folder" class="crumbs">
            {crumbs
                .into_iter()
                .enumerate()
                .map(|(i, (path, label))| {
                    let last = i + 1 == count;
                    let sep = (i > 0).then_some(" › ");
                    if last && !last_is_link {
                        view! {
                            {sep}
                            <span aria-current="page">{label}</span>
                        }
                            .into_any()
                    } else {
                        let href = format!("/files?folder={}", encode(&path));
                        view! {
                            {sep}
                            <a href=href>{label}</a>
                        }
                            .into_any()
                    }
                })
                .collect_view()}
        </nav>
    }
}

fn download_href(path: &str, version: Option<i64>) -> String {
    let mut href = format!("/api/sync/files/content?path={}", encode(path));
    if let Some(v) = version {
        href.push_str(&format!("&version={v}"));
    }
    href
}

fn listing(data: folder::FolderFolder, delete: ServerAction<DeleteFileFn>) -> AnyView {
    let empty = data.folders.is_empty() && data.files.is_empty();
    let deleted = data.deleted_files;
    view! {
        {breadcrumbs(&data.path, false)}
        <section class="panel" aria-labelledby="listing-title">
            <h2 id="listing-title">{name_of(&data.path).replace('/', "All files")}</h2>
            {empty.then(|| view! { <p class="muted">"This folder is empty."</p> })}
            <div class="table-wrap">
                <table id="listing" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col" class="num">"Size"</th>
                            <th scope="col">"Version"</th>
                            <th scope="col">"Modified"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {data
                            .folders
                            .into_iter()
                            .map(|path| {
                                let href = format!("/files?folder={}", encode(&path));
                                let name = format!("{}/", name_of(&path));
                                view! {
                                    <tr data-folder=path>
                                        <td data-label="Folder">
                                            <a href=href>{name}</a>
                                        </td>
                                        <td></td>
                                        <td></td>
                                        <td></td>
                                        <td></td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                        {data
                            .files
                            .into_iter()
                            .map(|f| {
                                let history = format!("/files?file={}", encode(&f.path));
                                let path = f.path.clone();
                                view! {
                                    <tr data-file=f.path.clone()>
                                        <td data-label="File">{name_of(&f.path).to_owned()}</td>
                                        <td data-label="Size" class="num">
                                            {bytes(f.size)}
                                        </td>
                                        <td data-label="Version">{f.version}</td>
                                        <td data-label="Modified">{when(&f.modified_at)}</td>
                                        <td class="actions">
                                            <a class="button secondary download" href=download_href(&f.path, None)>
                                                "Download"
                                            </a>
                                            <a class="history" href=history>
                                                "History"
                                            </a>
                                            <ActionForm action=delete>
                                                <input type="hidden" name="path" value=path />
                                                <button type="submit" class="danger delete">
                                                    "Delete"
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
        {(!deleted.is_empty())
            .then(|| {
                view! {
                    <section class="panel" aria-labelledby="deleted-title">
                        <h2 id="deleted-title">"Deleted here"</h2>
                        <p class="hint">
                            "Deleted files keep their history: open one to restore a version."
                        </p>
                        <ul id="deleted-files">
                            {deleted
                                .into_iter()
                                .map(|f| {
                                    let href = format!("/files?file={}", encode(&f.path));
                                    view! {
                                        <li>
                                            <a href=href>{name_of(&f.path).to_owned()}</a>
                                            {format!(" (last version {})", f.version)}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </section>
                }
            })}
    }
    .into_any()
}

fn history(
    path: &str,
    versions: Vec<file_versions::FileVersionsFileVersions>,
    restore: ServerAction<RestoreVersionFn>,
) -> AnyView {
    let live = versions.iter().any(|v| v.current);
    view! {
        {breadcrumbs(path, true)}
        <section class="panel" aria-labelledby="history-title">
            <h2 id="history-title">{format!("History of {}", name_of(path))}</h2>
            {(!live)
                .then(|| {
                    view! {
                        <p class="notice bad" id="is-deleted">
                            "This file is deleted. Restoring a version brings it back."
                        </p>
                    }
                })}
            <div class="table-wrap">
                <table id="versions" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"Version"</th>
                            <th scope="col" class="num">"Size"</th>
                            <th scope="col">"Modified"</th>
                            <th scope="col">"Saved on the server"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {versions
                            .into_iter()
                            .map(|v| {
                                let path = path.to_owned();
                                let (restore_path, version) = (path.clone(), v.version);
                                view! {
                                    <tr data-version=v.version>
                                        <td data-label="Version">
                                            {v.version}
                                            {v
                                                .current
                                                .then(|| {
                                                    view! { " " <span class="badge ok">"current"</span> }
                                                })}
                                        </td>
                                        <td data-label="Size" class="num">
                                            {bytes(v.size)}
                                        </td>
                                        <td data-label="Modified">{when(&v.modified_at)}</td>
                                        <td data-label="Saved">{when(&v.committed_at)}</td>
                                        <td class="actions">
                                            <a class="button secondary download" href=download_href(&path, Some(v.version))>
                                                "Download"
                                            </a>
                                            {(!v.current)
                                                .then(|| {
                                                    view! {
                                                        <ActionForm action=restore>
                                                            <input type="hidden" name="path" value=restore_path />
                                                            <input type="hidden" name="version" value=version />
                                                            <button type="submit" class="restore">
                                                                "Restore"
                                                            </button>
                                                        </ActionForm>
                                                    }
                                                })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
