//! The planner on small hand-made row sets: grouping, matching, counts,
//! and what deletion spares.

use super::*;
use crate::domain::{Address, ContactMethod, Phone};
use crate::import::rows::{Named, ParsedRow};

fn row(
    number: u32,
    client: Option<&str>,
    address: &str,
    phone: &str,
    first_name: &str,
) -> RowOutcome {
    RowOutcome::Valid(ParsedRow {
        number,
        first_name: Some(first_name.to_owned()),
        last_name: None,
        phone: Phone::parse(phone).unwrap(),
        contact_method: ContactMethod::Sms,
        address: Address::parse_one_line(address).unwrap(),
        address_written: address.to_owned(),
        notes: None,
        language: None,
        client_id: client.map(str::to_owned),
        client_name: None,
        coordinates: None,
    })
}

fn run(mode: ImportMode, rows: &[RowOutcome], existing: &Existing) -> Plan {
    let present = Present {
        first_name: true,
        ..Present::default()
    };
    plan(
        PlanInput {
            organization_id: Uuid::nil(),
            mode,
            present,
            rows,
            now: Utc::now(),
        },
        existing,
    )
}

/// The plan's creates as the organization's records, to merge against.
fn as_existing(plan: &Plan) -> Existing {
    Existing {
        clients: plan.clients.create.clone(),
        points: plan.points.create.clone(),
        occupants: plan.occupants.create.clone(),
    }
}

fn statuses(plan: &Plan) -> Vec<RowStatus> {
    plan.rows.iter().map(|r| r.status).collect()
}

#[test]
fn rows_at_one_address_share_a_point_and_an_address_keys_a_client() {
    let rows = [
        row(
            2,
            Some("C-1"),
            "10 rue des Érables, Lévis",
            "418-555-0001",
            "A",
        ),
        row(
            3,
            Some("C-1"),
            "10, Rue des Erables, LEVIS",
            "418-555-0002",
            "B",
        ),
        row(4, None, "5 av. du Parc, Québec", "418-555-0003", "C"),
        row(5, None, "5 Avenue du Parc, Quebec", "418-555-0004", "D"),
    ];
    let plan = run(ImportMode::MergeKeepMissing, &rows, &Existing::default());
    assert_eq!(
        plan.summary.clients,
        Counts {
            created: 2,
            ..Counts::default()
        }
    );
    assert_eq!(
        plan.summary.service_points,
        Counts {
            created: 2,
            ..Counts::default()
        }
    );
    assert_eq!(
        plan.summary.occupants,
        Counts {
            created: 4,
            ..Counts::default()
        }
    );
    let by_address = plan
        .clients
        .create
        .iter()
        .find(|c| c.address_key.is_some())
        .unwrap();
    assert_eq!(by_address.external_id, "5 av. du Parc, Québec");
}

#[test]
fn an_explicit_id_written_like_an_address_is_that_address_client() {
    let rows = [
        row(
            2,
            Some("1 rue A, Québec"),
            "2 rue B, Québec",
            "418-555-0001",
            "A",
        ),
        row(3, None, "1 rue A, Québec", "418-555-0002", "B"),
    ];
    let plan = run(ImportMode::MergeKeepMissing, &rows, &Existing::default());
    assert_eq!(
        plan.summary.clients,
        Counts {
            created: 1,
            ..Counts::default()
        }
    );
    assert_eq!(plan.rows[0].client_id, plan.rows[1].client_id);
    let existing = as_existing(&plan);
    let plan = run(ImportMode::MergeKeepMissing, &rows, &existing);
    assert_eq!(
        plan.summary.clients,
        Counts {
            unchanged: 1,
            ..Counts::default()
        }
    );
}

#[test]
fn a_repeated_occupant_is_skipped_when_identical_and_an_error_otherwise() {
    let rows = [
        row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
        row(3, Some("C-1"), "1 rue A, Québec", "418 555 0001", "A"),
        row(4, Some("C-1"), "1 rue A, Québec", "418-555-0001", "Z"),
    ];
    let plan = run(ImportMode::MergeKeepMissing, &rows, &Existing::default());
    assert_eq!(
        statuses(&plan),
        [RowStatus::Created, RowStatus::Skipped, RowStatus::Error]
    );
    assert!(plan.rows[2].errors[0].fr.contains("ligne 2"));
    assert_eq!((plan.summary.skipped_rows, plan.summary.error_rows), (1, 1));
}

#[test]
fn merging_matches_by_keys_and_counts_changes() {
    let first = [
        row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
        row(3, Some("C-1"), "1 rue A, Québec", "418-555-0002", "B"),
        row(4, Some("C-2"), "2 rue B, Québec", "418-555-0003", "C"),
    ];
    let existing = as_existing(&run(
        ImportMode::MergeKeepMissing,
        &first,
        &Existing::default(),
    ));
    let second = [
        row(2, Some("C-1"), "1 Rue A, Quebec", "418-555-0001", "A"),
        row(3, Some("C-1"), "1 rue A, Québec", "418-555-0002", "Bea"),
        row(4, Some("C-3"), "3 rue C, Québec", "418-555-0004", "D"),
    ];
    let plan = run(ImportMode::MergeKeepMissing, &second, &existing);
    // Row 2 rewrites its point's address ("1 Rue A, Quebec"): updated too.
    assert_eq!(
        statuses(&plan),
        [RowStatus::Updated, RowStatus::Updated, RowStatus::Created]
    );
    let change = |field: &str, before: &str, after: &str| FieldChange {
        field: field.to_owned(),
        before: Some(before.to_owned()),
        after: Some(after.to_owned()),
    };
    let address = [
        change("addressLine1", "1 rue A", "1 Rue A"),
        change("city", "Québec", "Quebec"),
    ];
    assert_eq!(plan.rows[0].changes, address);
    let mut renamed = vec![change("firstName", "B", "Bea")];
    renamed.extend(address.clone());
    assert_eq!(plan.rows[1].changes, renamed);
    assert!(
        plan.rows[2].changes.is_empty(),
        "a created row lists nothing"
    );
    assert_eq!(
        plan.summary.clients,
        Counts {
            created: 1,
            unchanged: 1,
            ..Counts::default()
        }
    );
    // The written form changed ("1 Rue A, Quebec"): the point is updated, its key kept.
    assert_eq!(
        plan.summary.service_points,
        Counts {
            created: 1,
            updated: 1,
            ..Counts::default()
        }
    );
    assert_eq!(
        plan.summary.occupants,
        Counts {
            created: 1,
            updated: 1,
            unchanged: 1,
            deleted: 0
        }
    );

    let plan = run(ImportMode::MergeDeleteMissing, &second, &existing);
    assert_eq!(plan.summary.clients.deleted, 1);
    assert_eq!(plan.summary.service_points.deleted, 1);
    assert_eq!(plan.summary.occupants.deleted, 1);
    assert_eq!(plan.clients.delete.len(), 1);
    assert!(plan.points.delete.is_empty() && plan.occupants.delete.is_empty());

    let plan = run(ImportMode::ReplaceAll, &second, &existing);
    assert!(plan.replace_all);
    assert_eq!(
        plan.summary.clients,
        Counts {
            created: 2,
            deleted: 2,
            ..Counts::default()
        }
    );
    assert_eq!(
        plan.summary.occupants,
        Counts {
            created: 3,
            deleted: 3,
            ..Counts::default()
        }
    );
}

#[test]
fn an_invalid_row_protects_what_it_names_from_deletion() {
    let first = [
        row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
        row(3, Some("C-2"), "2 rue B, Québec", "418-555-0002", "B"),
        row(4, Some("C-3"), "3 rue C, Québec", "418-555-0003", "C"),
    ];
    let existing = as_existing(&run(
        ImportMode::MergeKeepMissing,
        &first,
        &Existing::default(),
    ));
    let invalid = |client: Option<&str>, key: Option<&str>| RowOutcome::Invalid {
        number: 3,
        errors: vec![],
        named: Named {
            client_id: client.map(str::to_owned),
            address_key: key.map(str::to_owned),
        },
    };
    let rows = [
        row(2, Some("C-1"), "1 rue A, Québec", "418-555-0001", "A"),
        invalid(Some("C-2"), None),
        invalid(None, Some("3 rue c")),
    ];
    let plan = run(ImportMode::MergeDeleteMissing, &rows, &existing);
    assert_eq!(plan.summary.error_rows, 2);
    assert_eq!(plan.summary.clients.deleted, 0);
    assert_eq!(plan.summary.occupants.deleted, 0);
}
