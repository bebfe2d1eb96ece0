/// Where a service point stands in geocoding (SPEC.md, "Geocoding").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GeocodeStatus {
    /// Not located yet: never tried, or deferred.
    Pending,
    /// House or building match.
    Ok,
    /// Street, postal-code or locality match.
    Approximate,
    NotFound,
    /// The provider refused after retries.
    Failed,
    /// Coordinates given by hand or by the file; never overwritten.
    Manual,
}

impl GeocodeStatus {
    pub const ALL: [GeocodeStatus; 6] = [
        GeocodeStatus::Pending,
        GeocodeStatus::Ok,
        GeocodeStatus::Approximate,
        GeocodeStatus::NotFound,
        GeocodeStatus::Failed,
        GeocodeStatus::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GeocodeStatus::Pending => "PENDING",
            GeocodeStatus::Ok => "OK",
            GeocodeStatus::Approximate => "APPROXIMATE",
            GeocodeStatus::NotFound => "NOT_FOUND",
            GeocodeStatus::Failed => "FAILED",
            GeocodeStatus::Manual => "MANUAL",
        }
    }

    pub fn from_stored(value: &str) -> Option<GeocodeStatus> {
        GeocodeStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}
