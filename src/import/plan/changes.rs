//! What an import changes in the records it updates, field by field, as a
//! person reads them: the report shows each `UPDATED` row's changes with
//! their before and after, dry run or not.

use entity::{client, occupant, service_point};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

/// One field a row changes. Its serialized form is the stored report's
/// (short names, absent values left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    #[serde(rename = "f")]
    pub field: String,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

fn compare(out: &mut Vec<FieldChange>, field: &str, before: Option<String>, after: Option<String>) {
    if before != after {
        out.push(FieldChange {
            field: field.to_owned(),
            before,
            after,
        });
    }
}

/// An enumeration as stored, which is also its API name (`CALL`, `EN`).
fn stored<E: ActiveEnum<Value = String>>(value: E) -> Option<String> {
    Some(value.to_value())
}

/// The API's names for the fields, as `RowReport.changes` gives them.
pub fn occupant(before: &occupant::Model, after: &occupant::Model, out: &mut Vec<FieldChange>) {
    compare(
        out,
        "phone",
        Some(before.phone.clone()),
        Some(after.phone.clone()),
    );
    compare(
        out,
        "contactMethod",
        stored(before.contact_method),
        stored(after.contact_method),
    );
    compare(
        out,
        "firstName",
        before.first_name.clone(),
        after.first_name.clone(),
    );
    compare(
        out,
        "lastName",
        before.last_name.clone(),
        after.last_name.clone(),
    );
    compare(out, "notes", before.notes.clone(), after.notes.clone());
    compare(
        out,
        "language",
        stored(before.language),
        stored(after.language),
    );
}

pub fn point(
    before: &service_point::Model,
    after: &service_point::Model,
    out: &mut Vec<FieldChange>,
) {
    let number = |n: Option<f64>| n.map(|n| n.to_string());
    compare(
        out,
        "addressLine1",
        Some(before.address_line1.clone()),
        Some(after.address_line1.clone()),
    );
    compare(out, "city", before.city.clone(), after.city.clone());
    compare(
        out,
        "province",
        before.province.clone(),
        after.province.clone(),
    );
    compare(
        out,
        "postalCode",
        before.postal_code.clone(),
        after.postal_code.clone(),
    );
    compare(
        out,
        "latitude",
        number(before.latitude),
        number(after.latitude),
    );
    compare(
        out,
        "longitude",
        number(before.longitude),
        number(after.longitude),
    );
}

pub fn client(before: &client::Model, after: &client::Model, out: &mut Vec<FieldChange>) {
    compare(out, "clientName", before.name.clone(), after.name.clone());
}
