//! Geocoding results put on the planned points, and told to each row.

use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::GeocodeStatus;
use crate::import::error::Issue;
use crate::import::plan::Plan;
use crate::service::geocoding::{Geocoding, Located};

/// Puts what the geocoder found on the planned points, and tells each row
/// whose address was not found, only roughly found, or not yet located.
pub(super) fn locate_planned(
    plan: &mut Plan,
    located: &HashMap<String, Located>,
    geocoding: &Geocoding,
) {
    let mut notes: HashMap<Uuid, Issue> = HashMap::new();
    for point in plan
        .points
        .create
        .iter_mut()
        .chain(plan.points.update.iter_mut())
    {
        if point.latitude.is_some() || point.geocode_status == GeocodeStatus::Manual {
            continue;
        }
        if let Some(result) = located.get(&point.address_key) {
            geocoding.apply(point, *result);
        }
        let Some(note) = geocode_note(point.geocode_status) else {
            continue;
        };
        notes.insert(point.id, note);
    }
    for row in &mut plan.rows {
        if let Some(note) = row.point_id.and_then(|id| notes.get(&id)) {
            row.warnings.push(note.clone());
        }
    }
}

/// What a row is told of its address's position, when anything.
fn geocode_note(status: GeocodeStatus) -> Option<Issue> {
    let (code, fr, en) = match status {
        GeocodeStatus::NotFound => (
            "GEOCODE_NOT_FOUND",
            "Adresse introuvable sur la carte : corrigez-la ou donnez Latitude et Longitude.",
            "Address not found on the map: fix it or give Latitude and Longitude.",
        ),
        GeocodeStatus::Approximate => (
            "GEOCODE_APPROXIMATE",
            "Adresse localisée approximativement (rue, code postal ou ville) : vérifiez-la.",
            "Address located only roughly (street, postal code or city): check it.",
        ),
        GeocodeStatus::Failed => (
            "GEOCODE_FAILED",
            "Le service de géolocalisation a refusé cette adresse; elle sera réessayée.",
            "The geocoding service refused this address; it will be tried again.",
        ),
        GeocodeStatus::Pending => (
            "GEOCODE_PENDING",
            "Adresse pas encore localisée (service lent ou indisponible) : elle le sera en arrière-plan.",
            "Address not located yet (service slow or down): it will be in the background.",
        ),
        GeocodeStatus::Ok | GeocodeStatus::Manual => return None,
    };
    Some(Issue::new(code, None, fr, en))
}
