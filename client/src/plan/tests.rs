use super::*;

fn file(sha: &str) -> Local {
    Local {
        kind: Kind::File,
        size: 1,
        mtime_ns: 1,
        sha256: Some(sha.into()),
    }
}

fn folder() -> Local {
    Local {
        kind: Kind::Folder,
        size: 0,
        mtime_ns: 1,
        sha256: None,
    }
}

fn remote(sha: &str, version: i64) -> Remote {
    Remote {
        kind: Kind::File,
        version,
        size: 1,
        sha256: Some(sha.into()),
        modified_at: "2026-12-02T10:00:00Z".into(),
    }
}

fn base(sha: &str, version: i64) -> Base {
    file(sha).agreed(version)
}

#[derive(Default)]
struct World {
    base: HashMap<String, Base>,
    local: HashMap<String, Local>,
    remote: HashMap<String, Remote>,
    not_selected: HashSet<String>,
    held: HashMap<String, (String, String)>,
    keep_deletions: bool,
}

impl World {
    fn plan(&self) -> Vec<Action> {
        plan(&Inputs {
            base: &self.base,
            local: &self.local,
            remote: &self.remote,
            not_selected: &self.not_selected,
            deletions_travel: !self.keep_deletions,
            held: &self.held,
        })
    }
}

fn p(s: &str) -> String {
    s.to_owned()
}

#[test]
fn one_side_changed_travels_to_the_other() {
    let mut w = World::default();
    w.base.insert(p("/a"), base("1", 1));
    w.local.insert(p("/a"), file("1"));
    w.remote.insert(p("/a"), remote("2", 2));
    w.local.insert(p("/new"), file("n"));
    w.remote.insert(
        p("/dir"),
        Remote {
            kind: Kind::Folder,
            sha256: None,
            ..remote("", 0)
        },
    );
    let actions = w.plan();
    assert_eq!(
        actions,
        vec![
            Action::MakeLocalFolder { path: p("/dir") },
            Action::Download {
                path: p("/a"),
                remote: remote("2", 2),
                local: Some(file("1")),
            },
            Action::Upload {
                path: p("/new"),
                local: file("n"),
                base_version: Some(0),
            },
        ]
    );
}

#[test]
fn agreement_is_recorded_and_nothing_moves() {
    let mut w = World::default();
    w.local.insert(p("/same"), file("s"));
    w.remote.insert(p("/same"), remote("s", 4));
    w.base.insert(p("/gone"), base("g", 1));
    assert_eq!(
        w.plan(),
        vec![
            Action::Agree {
                path: p("/gone"),
                base: None
            },
            Action::Agree {
                path: p("/same"),
                base: Some(base("s", 4))
            },
        ]
    );
    // Once recorded, nothing more.
    w.base.insert(p("/same"), base("s", 4));
    w.base.remove("/gone");
    assert!(w.plan().is_empty());
}

#[test]
fn deletions_travel_files_first_folders_deepest_last() {
    let mut w = World::default();
    for (path, l) in [("/d", folder()), ("/d/e", folder()), ("/d/e/f", file("f"))] {
        w.base
            .insert(p(path), l.agreed(if l.kind == Kind::File { 1 } else { 0 }));
        w.local.insert(p(path), l);
    }
    let actions = w.plan();
    assert_eq!(
        actions,
        vec![
            Action::RemoveLocalFile {
                path: p("/d/e/f"),
                local: file("f")
            },
            Action::RemoveLocalFolder { path: p("/d/e") },
            Action::RemoveLocalFolder { path: p("/d") },
        ]
    );
}

#[test]
fn edits_on_both_sides_go_to_the_server_with_the_base_version() {
    let mut w = World::default();
    w.base.insert(p("/a"), base("1", 3));
    w.local.insert(p("/a"), file("L"));
    w.remote.insert(p("/a"), remote("R", 4));
    assert_eq!(
        w.plan(),
        vec![Action::Upload {
            path: p("/a"),
            local: file("L"),
            base_version: Some(3)
        }]
    );
}

#[test]
fn an_edit_beats_a_deletion_on_either_side() {
    let mut w = World::default();
    w.base.insert(p("/here"), base("1", 1));
    w.remote.insert(p("/here"), remote("2", 2));
    w.base.insert(p("/there"), base("1", 1));
    w.local.insert(p("/there"), file("2"));
    assert_eq!(
        w.plan(),
        vec![
            Action::Download {
                path: p("/here"),
                remote: remote("2", 2),
                local: None
            },
            Action::Upload {
                path: p("/there"),
                local: file("2"),
                base_version: None
            },
        ]
    );
}

#[test]
fn without_deletion_sync_deletions_stay_where_they_happened() {
    let mut w = World {
        keep_deletions: true,
        ..Default::default()
    };
    w.base.insert(p("/deleted-here"), base("1", 1));
    w.remote.insert(p("/deleted-here"), remote("1", 1));
    w.base.insert(p("/deleted-there"), base("2", 1));
    w.local.insert(p("/deleted-there"), file("2"));
    let actions = w.plan();
    assert!(actions.contains(&Action::Hold {
        path: p("/deleted-here"),
        reason: held::DELETED_HERE,
        detail: p("1"),
    }));
    assert!(actions.contains(&Action::Hold {
        path: p("/deleted-there"),
        reason: held::DELETED_ON_SERVER,
        detail: p("2"),
    }));
    assert!(!actions.iter().any(|a| matches!(
        a,
        Action::DeleteRemote { .. } | Action::RemoveLocalFile { .. }
    )));
    // Next pass: held, so neither re-downloaded nor re-uploaded...
    w.base.clear();
    w.held
        .insert(p("/deleted-here"), (p(held::DELETED_HERE), p("1")));
    w.held
        .insert(p("/deleted-there"), (p(held::DELETED_ON_SERVER), p("2")));
    assert!(w.plan().is_empty());
    // ...until someone edits it.
    w.remote.insert(p("/deleted-here"), remote("3", 2));
    w.local.insert(p("/deleted-there"), file("4"));
    assert_eq!(w.plan().len(), 2);
}

#[test]
fn deselected_paths_go_only_when_unchanged() {
    let mut w = World::default();
    w.base.insert(p("/Photos/a"), base("1", 1));
    w.local.insert(p("/Photos/a"), file("1"));
    w.base.insert(p("/Photos/b"), base("1", 1));
    w.local.insert(p("/Photos/b"), file("edited"));
    w.local.insert(p("/Photos/new"), file("n"));
    for path in ["/Photos/a", "/Photos/b", "/Photos/new"] {
        w.not_selected.insert(p(path));
    }
    let actions = w.plan();
    assert_eq!(
        actions,
        vec![
            Action::Hold {
                path: p("/Photos/b"),
                reason: held::NOT_SELECTED_UNSYNCED,
                detail: p("")
            },
            Action::Hold {
                path: p("/Photos/new"),
                reason: held::NOT_SELECTED,
                detail: p("")
            },
            Action::RemoveLocalFile {
                path: p("/Photos/a"),
                local: file("1")
            },
        ]
    );
}
