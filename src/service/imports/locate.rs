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
        let note = match point.geocode_status {
            GeocodeStatus::NotFound => Issue::new(
                "GEOCODE_NOT_FOUND",
                None,
                "Adresse introuvable sur la carte : corrigez-la ou donnez Latitude et Longitude.",
                "Address not found on the map: fix it or give Latitude and Longitude.",
            ),
            GeocodeStatus::Approximate => Issue::new(
                "GEOCODE_APPROXIMATE",
                None,
                "Adresse localisée approximativement (rue, code postal ou ville) : vérifiez-la.",
                "Address located only roughly (street, postal code or city): check it.",
            ),
            GeocodeStatus::Failed => Issue::new(
                "GEOCODE_FAILED",
                None,
                "Le service de géolocalisation a refusé cette adresse; elle sera réessayée.",
                "The geocoding service refused this address; it will be tried again.",
            ),
            GeocodeStatus::Pending => Issue::new(
                "GEOCODE_PENDING",
                None,
                "Adresse pas encore localisée (service lent ou indisponible) : elle le sera en arrière-plan.",
                "Address not located yet (service slow or down): it will be in the background.",
            ),
            _ => continue,
        };
        notes.insert(point.id, note);
    }
    for row in &mut plan.rows {
        if let Some(note) = row.point_id.and_then(|id| notes.get(&id)) {
            row.warnings.push(note.clone());
        }
    }
}
