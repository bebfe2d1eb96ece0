//! What one row makes of a client, a point and an occupant: a new record,
//! or the existing one with the file's values, and when two are the same.

use chrono::{DateTime, Utc};
use entity::{client, occupant, service_point};
use uuid::Uuid;

use super::Present;
use super::group::ClientKey;
use crate::domain::{GeocodeStatus, MAX_IDENTIFIER, search_key};
use crate::import::rows::ParsedRow;

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The external id a new client with this key gets.
pub(super) fn expected_external_id(key: &ClientKey, row: &ParsedRow) -> String {
    match key {
        ClientKey::Id(id) => id.clone(),
        ClientKey::Address(_) => truncate(&row.address_written, MAX_IDENTIFIER),
    }
}

pub(super) fn new_client(
    organization_id: Uuid,
    key: &ClientKey,
    row: &ParsedRow,
    now: DateTime<Utc>,
) -> client::Model {
    let (external_id, address_key) = match key {
        ClientKey::Id(id) => (id.clone(), None),
        // Keyed by its address: shows the address as first written.
        ClientKey::Address(k) => (
            truncate(&row.address_written, MAX_IDENTIFIER),
            Some(k.clone()),
        ),
    };
    client::Model {
        id: Uuid::now_v7(),
        organization_id,
        search_key: search_key(&external_id, row.client_name.as_deref()),
        external_id,
        address_key,
        name: row.client_name.clone(),
        created_at: now,
        updated_at: now,
    }
}

pub(super) fn point_target(
    organization_id: Uuid,
    client_id: Uuid,
    existing: Option<&service_point::Model>,
    row: &ParsedRow,
    present: Present,
    now: DateTime<Utc>,
) -> service_point::Model {
    let address = &row.address;
    let mut target = existing.cloned().unwrap_or_else(|| service_point::Model {
        id: Uuid::now_v7(),
        organization_id,
        client_id,
        address_line1: String::new(),
        city: None,
        province: None,
        postal_code: None,
        address_key: address.key(),
        latitude: None,
        longitude: None,
        geocode_status: GeocodeStatus::Pending,
        geocode_provider: None,
        geocoded_at: None,
        created_at: now,
        updated_at: now,
    });
    // The written form follows the file; the key (and so the position) stays.
    target.address_line1 = address.line1.clone();
    target.city = address.city.clone();
    target.province = address.province.map(|p| p.code().to_owned());
    target.postal_code = address.postal_code.as_ref().map(|p| p.as_str().to_owned());
    if present.coordinates {
        match row.coordinates {
            Some(c) => {
                target.latitude = Some(c.latitude);
                target.longitude = Some(c.longitude);
                target.geocode_status = GeocodeStatus::Manual;
                target.geocode_provider = None;
            }
            // Empty cells clear hand-given coordinates only: a geocoded
            // position was never the file's to give.
            None if target.geocode_status == GeocodeStatus::Manual => {
                target.latitude = None;
                target.longitude = None;
                target.geocode_status = GeocodeStatus::Pending;
            }
            None => {}
        }
    }
    target
}

pub(super) fn occupant_target(
    organization_id: Uuid,
    point_id: Uuid,
    existing: Option<&occupant::Model>,
    row: &ParsedRow,
    present: Present,
    now: DateTime<Utc>,
) -> occupant::Model {
    let mut target = existing.cloned().unwrap_or_else(|| occupant::Model {
        id: Uuid::now_v7(),
        organization_id,
        service_point_id: point_id,
        first_name: None,
        last_name: None,
        phone: row.phone.formatted(),
        contact_method: row.contact_method,
        notes: None,
        language: row.language.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    });
    // The same unless the occupant was found by name with a new phone.
    target.phone = row.phone.formatted();
    target.contact_method = row.contact_method;
    if present.first_name || existing.is_none() {
        target.first_name = row.first_name.clone();
    }
    if present.last_name || existing.is_none() {
        target.last_name = row.last_name.clone();
    }
    if present.notes || existing.is_none() {
        target.notes = row.notes.clone();
    }
    // An empty cell keeps the language: it is never cleared, only changed.
    if let Some(language) = row.language {
        target.language = language;
    }
    target
}

pub(super) fn same_client(a: &client::Model, b: &client::Model) -> bool {
    a.external_id == b.external_id && a.name == b.name
}

pub(super) fn same_point(a: &service_point::Model, b: &service_point::Model) -> bool {
    a.address_line1 == b.address_line1
        && a.city == b.city
        && a.province == b.province
        && a.postal_code == b.postal_code
        && a.latitude == b.latitude
        && a.longitude == b.longitude
        && a.geocode_status == b.geocode_status
}

pub(super) fn same_occupant(a: &occupant::Model, b: &occupant::Model) -> bool {
    a.first_name == b.first_name
        && a.last_name == b.last_name
        && a.phone == b.phone
        && a.contact_method == b.contact_method
        && a.notes == b.notes
        && a.language == b.language
}
