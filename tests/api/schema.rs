//! The schema is the API's promise: `schema.graphql` is generated and must
//! match the code, and every name of the public contract
//! (`contract/API.graphql`, the repository's copy of the shared contract,
//! which `.ci/run` keeps identical to it) must exist in it with the same
//! type, except the names on `PENDING`.

use std::collections::BTreeMap;

use async_graphql::parser::{
    parse_schema,
    types::{TypeKind, TypeSystemDefinition},
};

/// Contract items that later issues deliver. A type covers its fields,
/// arguments and interfaces, a field its arguments; a field added to an
/// existing type, or an argument added to an existing field, is listed by
/// itself (`ImportRun.status`, `Mutation.importSpreadsheet(wait)`) so that
/// the names around it stay checked. Each entry must still be missing: the
/// test says when one lands, so the list stays exact and ends empty.
const PENDING: &[&str] = &[];

/// Whether the pending name `pending` covers the contract item `item`: the
/// item itself, or one of its parts (`T.field`, `T.field(arg)`,
/// `T implements I`). `ImportRun.status` covers neither `ImportRun` nor
/// `ImportRun.statusText`.
fn covers(pending: &str, item: &str) -> bool {
    item.strip_prefix(pending)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '(', ' ']))
}

#[test]
fn a_pending_name_covers_its_parts_and_nothing_beside_them() {
    assert!(covers("Subscription", "Subscription.importProgress(id)"));
    assert!(covers("WebhookEndpoint", "WebhookEndpoint implements Node"));
    assert!(!covers("WebhookEndpoint", "WebhookEndpointInput.url"));
    assert!(covers("ImportRun.status", "ImportRun.status"));
    assert!(!covers("ImportRun.status", "ImportRun"));
    assert!(!covers("ImportRun.status", "ImportRun.statusText"));
    let wait = "Mutation.importSpreadsheet(wait)";
    assert!(covers(wait, wait));
    assert!(!covers(wait, "Mutation.importSpreadsheet"));
    assert!(!covers(wait, "Mutation.importSpreadsheet(file)"));
}

fn manifest_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn schema_graphql_is_up_to_date() {
    let checked_in = std::fs::read_to_string(manifest_path("schema.graphql")).unwrap_or_default();
    assert!(
        checked_in == flokon_api::graphql::sdl(),
        "schema.graphql is stale: regenerate it with `cargo run -- schema > schema.graphql`"
    );
}

/// Every type, field, argument, input field and enum value of an SDL, with
/// its type where it has one.
fn items(sdl: &str) -> BTreeMap<String, String> {
    let document = parse_schema(sdl).expect("valid SDL");
    let mut items = BTreeMap::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let definition = definition.node;
        let type_name = definition.name.node.to_string();
        let kind = match &definition.kind {
            TypeKind::Scalar => "scalar",
            TypeKind::Object(_) => "type",
            TypeKind::Interface(_) => "interface",
            TypeKind::Union(_) => "union",
            TypeKind::Enum(_) => "enum",
            TypeKind::InputObject(_) => "input",
        };
        items.insert(type_name.clone(), kind.to_owned());
        match definition.kind {
            TypeKind::Object(object) => {
                for interface in object.implements {
                    items.insert(
                        format!("{type_name} implements {}", interface.node),
                        String::new(),
                    );
                }
                for field in object.fields {
                    let field = field.node;
                    let field_name = format!("{type_name}.{}", field.name.node);
                    for argument in field.arguments {
                        let argument = argument.node;
                        items.insert(
                            format!("{field_name}({})", argument.name.node),
                            argument.ty.node.to_string(),
                        );
                    }
                    items.insert(field_name, field.ty.node.to_string());
                }
            }
            TypeKind::Interface(interface) => {
                for field in interface.fields {
                    items.insert(
                        format!("{type_name}.{}", field.node.name.node),
                        field.node.ty.node.to_string(),
                    );
                }
            }
            TypeKind::Enum(enumeration) => {
                for value in enumeration.values {
                    items.insert(
                        format!("{type_name}.{}", value.node.value.node),
                        String::new(),
                    );
                }
            }
            TypeKind::InputObject(input) => {
                for field in input.fields {
                    items.insert(
                        format!("{type_name}.{}", field.node.name.node),
                        field.node.ty.node.to_string(),
                    );
                }
            }
            TypeKind::Scalar | TypeKind::Union(_) => {}
        }
    }
    items
}

/// The contract, from the repository's copy: a clone alone passes, and
/// `.ci/run` fails when the copy differs from the shared original.
fn contract() -> String {
    let path = manifest_path("contract/API.graphql");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{} cannot be read: {error}", path.display()))
}

#[test]
fn every_name_of_the_contract_exists_with_its_type() {
    let ours = items(&flokon_api::graphql::sdl());
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    for (name, ty) in items(&contract()) {
        match ours.get(&name) {
            None => missing.push(name),
            Some(our_ty) if *our_ty != ty => {
                mismatched.push(format!("{name}: contract {ty}, schema {our_ty}"))
            }
            Some(_) => {}
        }
    }
    assert!(
        mismatched.is_empty(),
        "types differ from the contract: {mismatched:#?}"
    );
    let unexpected: Vec<&String> = missing
        .iter()
        .filter(|item| !PENDING.iter().any(|p| covers(p, item)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "contract names missing from the schema: {unexpected:#?}"
    );
    // An entry has landed as soon as its own name exists (a type with
    // some fields still missing then lists those fields instead), and an
    // entry naming nothing of the contract is a typo: both fail.
    let landed: Vec<&&str> = PENDING
        .iter()
        .filter(|p| !missing.iter().any(|item| item == *p))
        .collect();
    assert!(
        landed.is_empty(),
        "these landed (or name nothing of the contract): remove them from PENDING, \
         listing instead any of their parts still missing: {landed:#?}"
    );
}
