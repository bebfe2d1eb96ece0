//! The house's rules, read from the source: layers point down only, the
//! infrastructure of the use cases never reaches up into them, and only
//! the tenant helpers name an organization column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer, bottom first. A module may use its own
/// layer's and lower ones'; the binary (`main.rs`) and `lib.rs` stand
/// outside.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["config"],
    &[
        "import",
        "sector",
        "geocode",
        "webhook",
        "spreadsheet",
        "messaging",
    ],
    &["db", "auth"],
    &["service"],
    &["worker"],
    &["error", "graphql", "routes"],
    &["app"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(source_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The file's top-level module (`src/service/store/page.rs` → `service`).
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The lines of code (comments left out: prose may name any module).
fn code_lines(file: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(number, line)| (number + 1, line.to_owned()))
        .collect()
}

/// Every `crate::a::b...` path a line names, as its segments.
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    line.match_indices("crate::")
        .filter(|(at, _)| {
            // `flokon_api::` or `my_crate::` are not this crate's paths.
            !line[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            let mut path = Vec::new();
            for segment in line[at + "crate::".len()..].split("::") {
                let ident: String = segment
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let whole = ident.len() == segment.len();
                if !ident.is_empty() {
                    path.push(ident);
                }
                if !whole {
                    break;
                }
            }
            path
        })
        .collect()
}

#[test]
fn layers_point_down_only() {
    let (upward, cycles) = layer_breaches(&src());
    assert!(
        upward.is_empty(),
        "imports up the layers:\n{}",
        upward.join("\n")
    );
    assert!(
        cycles.is_empty(),
        "cycles of modules:\n{}",
        cycles.join("\n")
    );
}

/// The imports that go up the layers, and the modules on a cycle (within
/// a layer, since none goes up).
fn layer_breaches(root: &Path) -> (Vec<String>, Vec<String>) {
    let mut upward = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in source_files(root) {
        let module = module_of(root, &file);
        let Some(own) = layer(&module) else {
            assert!(
                ["main", "lib"].contains(&module.as_str()),
                "{} is in no layer: add it to LAYERS",
                file.display()
            );
            continue;
        };
        for (number, line) in code_lines(&file) {
            for path in crate_paths(&line) {
                let Some(target) = path.first() else { continue };
                let Some(theirs) = layer(target) else {
                    panic!(
                        "{}:{number} names crate::{target}, in no layer",
                        file.display()
                    );
                };
                if theirs > own {
                    upward.push(format!("{}:{number}: {module} → {target}", file.display()));
                }
                if *target != module {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .insert(target.clone());
                }
            }
        }
    }
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = edges[start].iter().collect();
        while let Some(next) = stack.pop() {
            if next == start {
                cycles.push(start.clone());
                break;
            }
            if seen.insert(next.clone()) {
                stack.extend(edges.get(next).into_iter().flatten());
            }
        }
    }
    (upward, cycles)
}

/// `service::store` is what the use cases stand on: it names none of them.
#[test]
fn the_store_never_reaches_into_the_use_cases() {
    let allowed = ["store", "ServiceError", "LimitReached", "log_internal"];
    let mut found = Vec::new();
    for file in source_files(&src().join("service/store")) {
        let code: String = code_lines(&file)
            .into_iter()
            .map(|(_, line)| line + "\n")
            .collect();
        for name in names_under(&code, "crate::service::") {
            if !allowed.contains(&name.as_str()) {
                found.push(format!("{}: crate::service::{name}", file.display()));
            }
        }
        if code.contains("super::super::") {
            found.push(format!("{}: super::super::", file.display()));
        }
    }
    assert!(
        found.is_empty(),
        "the store uses use cases:\n{}",
        found.join("\n")
    );
}

/// The first segment of every path under `prefix`, braces expanded
/// (`prefix{a, b::c}` names `a` and `b`).
fn names_under(code: &str, prefix: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                names.extend(group.split(',').map(ident).filter(|n| !n.is_empty()));
            }
            None => names.push(ident(rest)),
        }
    }
    names
}

/// Only the tenant helpers filter on an organization: anywhere else, a
/// hand-written filter could forget or mistype the tenant.
#[test]
fn only_the_tenant_helpers_filter_on_an_organization() {
    let found = raw_organization_filters(&src());
    assert!(
        found.is_empty(),
        "raw organization filters (use service::store::tenant):\n{}",
        found.join("\n")
    );
}

fn raw_organization_filters(root: &Path) -> Vec<String> {
    let helpers = root.join("service/store/tenant.rs");
    let raw = [
        "OrganizationId.eq(",
        "OrganizationId.is_in(",
        "OrganizationId.ne(",
        "ORGANIZATION.eq(",
        "organization_id =",
        "organization_id IN",
    ];
    let mut found = Vec::new();
    for file in source_files(root) {
        if file == helpers {
            continue;
        }
        for (number, line) in code_lines(&file) {
            if raw.iter().any(|pattern| line.contains(pattern)) {
                found.push(format!("{}:{number}: {}", file.display(), line.trim()));
            }
        }
    }
    found
}

/// The rules catch what they are for: a tree with one breach of each.
#[test]
fn the_rules_find_each_breach() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "domain/mod.rs",
        "use crate::app::Application;\n// crate::cli in prose\n",
    );
    write("graphql/mod.rs", "use crate::routes::x;\n");
    write("routes/mod.rs", "use crate::graphql::y;\n");
    write("app.rs", "");
    write(
        "service/clients.rs",
        "q.filter(client::Column::OrganizationId.eq(org.uuid()))\n",
    );
    write(
        "service/store/tenant.rs",
        "E::find().filter(E::ORGANIZATION.eq(org.uuid()))\n",
    );
    let (upward, cycles) = layer_breaches(dir.path());
    assert_eq!(upward.len(), 1, "{upward:?}");
    assert!(upward[0].ends_with("domain → app"), "{upward:?}");
    assert_eq!(cycles, ["graphql", "routes"]);
    let raw = raw_organization_filters(dir.path());
    assert_eq!(raw.len(), 1, "{raw:?}");
    assert!(raw[0].contains("service/clients.rs:1"), "{raw:?}");
}

#[test]
fn the_rules_see_what_they_look_for() {
    assert_eq!(
        crate_paths("use crate::service::store::{self, tenant};"),
        [["service", "store"]]
    );
    assert_eq!(
        crate_paths("x(crate::db::locks::MIGRATIONS, flokon_api::crate_y)"),
        [["db", "locks", "MIGRATIONS"]]
    );
    assert_eq!(layer("cli"), Some(LAYERS.len() - 1));
    assert_eq!(
        names_under(
            "use crate::service::{\n    ServiceError, store::x};\ncrate::service::clients::f()",
            "crate::service::"
        ),
        ["ServiceError", "store", "clients"]
    );
}
