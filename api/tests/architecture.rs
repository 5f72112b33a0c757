//! The shape of `api/src`, checked: no two modules import each other, the
//! service layer knows no transport and no configuration, and its files stay short.
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
/// What `service/` must never name.
const TRANSPORT: &[&str] = &[
    "axum",
    "async_graphql",
    "http::",
    "dav_server",
    "crate::config",
];
/// Longest non-test file under `service/`.
const MAX_SERVICE_LINES: usize = 400;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `service/files/tree.rs` → `["service", "files", "tree"]`; `mod.rs` and
/// `lib.rs` name their folder.
fn module_of(path: &Path) -> Vec<String> {
    let relative = path.strip_prefix(SRC).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its `#[cfg(test)] mod tests { … }` block (tests may
/// reach anywhere) and without comments.
fn production_code(text: &str) -> String {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    match code.find("#[cfg(test)]\nmod tests") {
        Some(at) => code[..at].to_owned(),
        None => code,
    }
}

/// Every path a file names (`crate::a::b`, `super::c`, `self::d`), resolved to
/// the longest existing module.
fn imports(module: &[String], code: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let begin = from + at;
            from = begin + start.len();
            if begin > 0
                && (bytes[begin - 1].is_ascii_alphanumeric()
                    || bytes[begin - 1] == b'_'
                    || bytes[begin - 1] == b':')
            {
                continue;
            }
            // Within `use …::{a, b::c}` lists, each branch is a path too.
            let rest = &code[begin..];
            let end = rest
                .find(|c: char| {
                    !(c.is_ascii_alphanumeric()
                        || c == '_'
                        || c == ':'
                        || c == '{'
                        || c == ','
                        || c == ' '
                        || c == '\n')
                })
                .unwrap_or(rest.len());
            let text = &rest[..end];
            // `super` is the parent of this module; `self` is this module.
            let base: Vec<String> = match start {
                "crate::" => vec![],
                "super::" => module[..module.len().saturating_sub(1)].to_vec(),
                _ => module.to_vec(),
            };
            let head = text[start.len()..]
                .split(['{', ',', ' ', '\n'])
                .next()
                .unwrap_or("");
            let mut heads = vec![head.to_owned()];
            if let Some(open) = text.find('{') {
                let prefix = &text[start.len()..open];
                for branch in text[open + 1..].split([',', '{', '}']) {
                    let branch = branch.trim();
                    if !branch.is_empty() {
                        heads.push(format!("{prefix}{branch}"));
                    }
                }
            }
            for head in heads {
                let mut path = base.clone();
                let mut best = None;
                for part in head.split("::").filter(|p| !p.is_empty()) {
                    if part == "super" {
                        path.pop();
                        continue;
                    }
                    path.push(part.to_owned());
                    if known.contains(&path) {
                        best = Some(path.clone());
                    }
                }
                if let Some(best) = best {
                    found.insert(best);
                }
            }
        }
    }
    found
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let known: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let text = std::fs::read_to_string(file).expect("read");
        let mut deps = imports(&module, &production_code(&text), &known);
        deps.retain(|d| d != &module && !module.starts_with(d) && !d.starts_with(&module));
        graph.insert(module, deps);
    }
    graph
}

#[test]
fn no_two_modules_import_each_other() {
    let graph = graph();
    let mut pairs = Vec::new();
    for (a, deps) in &graph {
        for b in deps {
            if a < b && graph.get(b).is_some_and(|back| back.contains(a)) {
                pairs.push(format!("{} <-> {}", a.join("::"), b.join("::")));
            }
        }
    }
    assert!(
        pairs.is_empty(),
        "modules importing each other:\n{}",
        pairs.join("\n")
    );
}

#[test]
fn the_service_layer_knows_no_transport_and_stays_short() {
    let mut files = Vec::new();
    rust_files(&Path::new(SRC).join("service"), &mut files);
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let name = file.strip_prefix(SRC).expect("src").display().to_string();
        for word in TRANSPORT {
            if text.contains(word) {
                problems.push(format!("{name} names {word}"));
            }
        }
        let is_test = name.contains("/tests/") || name.ends_with("/tests.rs");
        let lines = text.lines().count();
        if !is_test && lines > MAX_SERVICE_LINES {
            problems.push(format!("{name} has {lines} lines"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
