//! Validation failures: a stable code, the field at fault and a French and
//! English message, the same for the manual API and imports.

use super::{Lang, PhoneError};

/// A field of the data model, as named in messages and in the import columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    FirstName,
    LastName,
    Phone,
    ContactMethod,
    Address,
    AddressLine1,
    City,
    Province,
    PostalCode,
    Notes,
    Language,
    ClientId,
    ClientName,
    Latitude,
    Longitude,
    SectorName,
    SectorGeometry,
}

impl Field {
    /// The GraphQL input field this is, for `extensions.field`.
    pub fn api_name(self) -> &'static str {
        match self {
            Field::FirstName => "firstName",
            Field::LastName => "lastName",
            Field::Phone => "phone",
            Field::ContactMethod => "contactMethod",
            Field::Address => "address",
            Field::AddressLine1 => "addressLine1",
            Field::City => "city",
            Field::Province => "province",
            Field::PostalCode => "postalCode",
            Field::Notes => "notes",
            Field::Language => "language",
            Field::ClientId => "externalId",
            Field::ClientName => "name",
            Field::Latitude => "latitude",
            Field::Longitude => "longitude",
            Field::SectorName => "name",
            Field::SectorGeometry => "geometry",
        }
    }

    /// The field's name in the template's (French) or in English words.
    pub fn label(self, lang: Lang) -> &'static str {
        let (fr, en) = match self {
            Field::FirstName => ("Prénom", "First name"),
            Field::LastName => ("Nom", "Last name"),
            Field::Phone => ("Téléphone", "Phone"),
            Field::ContactMethod => ("SMS/Appel", "Contact method"),
            Field::Address => ("Adresse", "Address"),
            Field::AddressLine1 => ("Adresse Ligne 1", "Address line 1"),
            Field::City => ("Ville", "City"),
            Field::Province => ("Province", "Province"),
            Field::PostalCode => ("Code postal", "Postal code"),
            Field::Notes => ("Notes", "Notes"),
            Field::Language => ("Langue", "Language"),
            Field::ClientId => ("Identifiant du client", "Client ID"),
            Field::ClientName => ("Nom du client", "Client name"),
            Field::Latitude => ("Latitude", "Latitude"),
            Field::Longitude => ("Longitude", "Longitude"),
            Field::SectorName => ("Nom du secteur", "Sector name"),
            Field::SectorGeometry => ("Géométrie", "Geometry"),
        };
        match lang {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// Why a value was refused. `code()` is stable for programs; `message()` is
/// for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message(Lang::Fr))]
pub enum ValidationError {
    Required {
        field: Field,
    },
    TooLong {
        field: Field,
        max: usize,
    },
    Phone(PhoneError),
    ContactMethod {
        given: String,
    },
    Language {
        given: String,
    },
    PostalCode {
        given: String,
    },
    Province {
        given: String,
    },
    CoordinatesIncomplete,
    CoordinateOutOfRange {
        field: Field,
    },
    DuplicateClientId {
        external_id: String,
    },
    DuplicateAddress,
    DuplicatePhone {
        phone: String,
    },
    /// A sector geometry, with what is wrong in both languages.
    Geometry {
        fr: String,
        en: String,
    },
    /// An alert setting (hours, zone, limit), with what is wrong in both
    /// languages.
    AlertSettings {
        fr: String,
        en: String,
    },
    Template {
        fr: String,
        en: String,
    },
    Consent {
        fr: String,
        en: String,
    },
}

impl ValidationError {
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::Required { .. } => "REQUIRED",
            ValidationError::TooLong { .. } => "TOO_LONG",
            ValidationError::Phone(_) => "PHONE_INVALID",
            ValidationError::ContactMethod { .. } => "CONTACT_METHOD_INVALID",
            ValidationError::Language { .. } => "LANGUAGE_INVALID",
            ValidationError::PostalCode { .. } => "POSTAL_CODE_INVALID",
            ValidationError::Province { .. } => "PROVINCE_INVALID",
            ValidationError::CoordinatesIncomplete => "COORDINATES_INCOMPLETE",
            ValidationError::CoordinateOutOfRange {
                field: Field::Latitude,
            } => "LATITUDE_INVALID",
            ValidationError::CoordinateOutOfRange { .. } => "LONGITUDE_INVALID",
            ValidationError::DuplicateClientId { .. } => "DUPLICATE_CLIENT_ID",
            ValidationError::DuplicateAddress => "DUPLICATE_ADDRESS",
            ValidationError::DuplicatePhone { .. } => "DUPLICATE_PHONE",
            ValidationError::Geometry { .. } => "GEOMETRY_INVALID",
            ValidationError::AlertSettings { .. } => "ALERT_SETTINGS_INVALID",
            ValidationError::Template { .. } => "TEMPLATE_INVALID",
            ValidationError::Consent { .. } => "CONSENT_REQUEST_INVALID",
        }
    }

    /// The field at fault, when there is one.
    pub fn field(&self) -> Option<Field> {
        match self {
            ValidationError::Required { field }
            | ValidationError::TooLong { field, .. }
            | ValidationError::CoordinateOutOfRange { field } => Some(*field),
            ValidationError::Phone(_) | ValidationError::DuplicatePhone { .. } => {
                Some(Field::Phone)
            }
            ValidationError::ContactMethod { .. } => Some(Field::ContactMethod),
            ValidationError::Language { .. } => Some(Field::Language),
            ValidationError::PostalCode { .. } => Some(Field::PostalCode),
            ValidationError::Province { .. } => Some(Field::Province),
            ValidationError::DuplicateClientId { .. } => Some(Field::ClientId),
            ValidationError::DuplicateAddress => Some(Field::Address),
            ValidationError::CoordinatesIncomplete
            | ValidationError::AlertSettings { .. }
            | ValidationError::Template { .. }
            | ValidationError::Consent { .. } => None,
            ValidationError::Geometry { .. } => Some(Field::SectorGeometry),
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            ValidationError::Required { field } => lang.pick(
                format!("{} est obligatoire.", field.label(Lang::Fr)),
                format!("{} is required.", field.label(Lang::En)),
            ),
            ValidationError::TooLong { field, max } => lang.pick(
                format!("{} dépasse {max} caractères.", field.label(Lang::Fr)),
                format!("{} is longer than {max} characters.", field.label(Lang::En)),
            ),
            ValidationError::Phone(error) => error.message(lang),
            ValidationError::ContactMethod { given } => lang.pick(
                format!(
                    "Mode de contact « {given} » inconnu : valeurs acceptées SMS, texto, text (SMS) ou appel, call, téléphone, voix, voice (appel)."
                ),
                format!(
                    "Unknown contact method \"{given}\": accepted values are SMS, texto, text (SMS) or appel, call, téléphone, voix, voice (call)."
                ),
            ),
            ValidationError::Language { given } => lang.pick(
                format!(
                    "Langue « {given} » inconnue : valeurs acceptées FR, français, French ou EN, anglais, English."
                ),
                format!(
                    "Unknown language \"{given}\": accepted values are FR, français, French or EN, anglais, English."
                ),
            ),
            ValidationError::PostalCode { given } => lang.pick(
                format!("Code postal « {given} » invalide : format attendu A1A 1A1."),
                format!("Invalid postal code \"{given}\": expected format A1A 1A1."),
            ),
            ValidationError::Province { given } => lang.pick(
                format!("Province « {given} » inconnue : utilisez le code à deux lettres (QC, ON...)."),
                format!("Unknown province \"{given}\": use the two-letter code (QC, ON...)."),
            ),
            ValidationError::CoordinatesIncomplete => lang.pick(
                "La latitude et la longitude vont ensemble : donnez les deux ou aucune.",
                "Latitude and longitude go together: give both or neither.",
            ),
            ValidationError::CoordinateOutOfRange { field: Field::Latitude } => lang.pick(
                "La latitude doit être un nombre entre -90 et 90.",
                "Latitude must be a number between -90 and 90.",
            ),
            ValidationError::CoordinateOutOfRange { .. } => lang.pick(
                "La longitude doit être un nombre entre -180 et 180.",
                "Longitude must be a number between -180 and 180.",
            ),
            ValidationError::DuplicateClientId { external_id } => lang.pick(
                format!("Un client avec l'identifiant « {external_id} » existe déjà."),
                format!("A client with the ID \"{external_id}\" already exists."),
            ),
            ValidationError::DuplicateAddress => lang.pick(
                "Ce client a déjà un point de service à cette adresse.",
                "This client already has a service point at this address.",
            ),
            ValidationError::Geometry { fr, en }
            | ValidationError::AlertSettings { fr, en }
            | ValidationError::Template { fr, en }
            | ValidationError::Consent { fr, en } => {
                lang.pick(fr.clone(), en.clone())
            }
            ValidationError::DuplicatePhone { phone } => lang.pick(
                format!("Un occupant de ce point de service a déjà le numéro {phone}."),
                format!("An occupant of this service point already has the number {phone}."),
            ),
        }
    }
}
