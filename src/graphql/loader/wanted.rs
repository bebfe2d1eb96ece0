//! Which columns of the records read most (clients, service points,
//! occupants) a query's fields need, so that its nested reads select only
//! those, as PostGraphile does: `occupants { phone }` has no use for names,
//! notes and timestamps, and decoding them was a fifth of a nested read.
//!
//! Read from field *names* anywhere in the document (every operation, every
//! fragment), whatever type they are selected on: a name another type
//! shares (`createdAt`) only costs a column, never a missing one, and
//! interfaces, fragments and aliases need no resolution. A test asks every
//! field of the three types alone and beside all the others and compares.

use std::sync::LazyLock;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use entity::{client, occupant, service_point};
use sea_orm::{EntityTrait, IdenStatic, Iterable};

use crate::service::store::positional::ColumnMask;

/// The columns a request reads of each of the three entities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub client: ColumnMask,
    pub service_point: ColumnMask,
    pub occupant: ColumnMask,
}

impl Default for Wanted {
    fn default() -> Wanted {
        Wanted::ALL
    }
}

/// A GraphQL field of a type and the columns it reads, beyond those every
/// read keeps (ids, organization, parent).
type FieldColumns<C> = (&'static str, &'static [C]);

/// Every field of `Client`, `ServicePoint` and `Occupant`: a test fails on
/// a field of the schema missing here.
pub const CLIENT_FIELDS: &[FieldColumns<client::Column>] = {
    use client::Column::*;
    &[
        ("id", &[]),
        ("externalId", &[ExternalId]),
        ("name", &[Name]),
        ("servicePoints", &[]),
        ("createdAt", &[CreatedAt]),
        ("updatedAt", &[UpdatedAt]),
    ]
};

pub const SERVICE_POINT_FIELDS: &[FieldColumns<service_point::Column>] = {
    use service_point::Column::*;
    &[
        ("id", &[]),
        ("client", &[]),
        ("addressLine1", &[AddressLine1]),
        ("city", &[City]),
        ("province", &[Province]),
        ("postalCode", &[PostalCode]),
        ("fullAddress", &[AddressLine1, City, Province, PostalCode]),
        ("latitude", &[Latitude]),
        ("longitude", &[Longitude]),
        ("geocodeStatus", &[GeocodeStatus]),
        ("sectors", &[]),
        ("occupants", &[]),
        ("createdAt", &[CreatedAt]),
        ("updatedAt", &[UpdatedAt]),
    ]
};

pub const OCCUPANT_FIELDS: &[FieldColumns<occupant::Column>] = {
    use occupant::Column::*;
    &[
        ("id", &[]),
        ("servicePoint", &[]),
        ("firstName", &[FirstName]),
        ("lastName", &[LastName]),
        ("phone", &[Phone]),
        ("phoneE164", &[Phone]),
        ("contactMethod", &[ContactMethod]),
        ("notes", &[Notes]),
        ("language", &[Language]),
        // Both read the phone's consent, found by phone.
        ("consentStatus", &[Phone]),
        ("optedOutAt", &[Phone]),
        ("createdAt", &[CreatedAt]),
        ("updatedAt", &[UpdatedAt]),
    ]
};

/// An entity's fields as masks: what every read keeps, and each field's.
struct Masks {
    always: ColumnMask,
    fields: Vec<(&'static str, ColumnMask)>,
}

impl Masks {
    fn new<E: EntityTrait>(always: &[E::Column], fields: &[FieldColumns<E::Column>]) -> Masks {
        Masks {
            always: mask::<E>(always),
            fields: fields
                .iter()
                .map(|(name, columns)| (*name, mask::<E>(columns)))
                .collect(),
        }
    }

    fn of(&self, name: &str) -> ColumnMask {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map_or(ColumnMask(0), |(_, mask)| *mask)
    }
}

/// The bits of `columns` among `E`'s columns, in the model's order.
fn mask<E: EntityTrait>(columns: &[E::Column]) -> ColumnMask {
    let mut bits = 0u64;
    for (index, column) in E::Column::iter().enumerate() {
        if columns.iter().any(|c| c.as_str() == column.as_str()) {
            bits |= 1 << index;
        }
    }
    ColumnMask(bits)
}

static CLIENT: LazyLock<Masks> = LazyLock::new(|| {
    use client::Column::*;
    Masks::new::<client::Entity>(&[Id, OrganizationId], CLIENT_FIELDS)
});
static SERVICE_POINT: LazyLock<Masks> = LazyLock::new(|| {
    use service_point::Column::*;
    Masks::new::<service_point::Entity>(&[Id, OrganizationId, ClientId], SERVICE_POINT_FIELDS)
});
static OCCUPANT: LazyLock<Masks> = LazyLock::new(|| {
    use occupant::Column::*;
    Masks::new::<occupant::Entity>(&[Id, OrganizationId, ServicePointId], OCCUPANT_FIELDS)
});

impl Wanted {
    pub const ALL: Wanted = Wanted {
        client: ColumnMask::ALL,
        service_point: ColumnMask::ALL,
        occupant: ColumnMask::ALL,
    };

    /// What the fields named anywhere in `document` need.
    pub fn of_document(document: &ExecutableDocument) -> Wanted {
        let mut wanted = Wanted {
            client: CLIENT.always,
            service_point: SERVICE_POINT.always,
            occupant: OCCUPANT.always,
        };
        for (_, operation) in document.operations.iter() {
            wanted.add_set(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            wanted.add_set(&fragment.node.selection_set.node);
        }
        wanted
    }

    fn add_set(&mut self, set: &SelectionSet) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    self.client.0 |= CLIENT.of(name).0;
                    self.service_point.0 |= SERVICE_POINT.of(name).0;
                    self.occupant.0 |= OCCUPANT.of(name).0;
                    self.add_set(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    self.add_set(&inline.node.selection_set.node);
                }
                // Walked with the document's fragments.
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    /// The columns to read of `E` (all of them for the other entities).
    pub fn of<E: EntityTrait>(&self) -> ColumnMask {
        match E::default().table_name() {
            "client" => self.client,
            "service_point" => self.service_point,
            "occupant" => self.occupant,
            _ => ColumnMask::ALL,
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn wanted(query: &str) -> Wanted {
        Wanted::of_document(&parse_query(query).unwrap())
    }

    fn columns<E: EntityTrait>(mask: ColumnMask) -> Vec<&'static str> {
        E::Column::iter()
            .enumerate()
            .filter(|(index, _)| mask.contains(*index))
            .map(|(_, column)| column.as_str())
            .collect()
    }

    #[test]
    fn a_nested_read_selects_the_ids_and_what_its_fields_read() {
        let wanted = wanted(
            "{ clients { edges { node { externalId servicePoints { edges { node { fullAddress occupants { phone } } } } } } } }",
        );
        assert_eq!(
            columns::<client::Entity>(wanted.client),
            ["id", "organization_id", "external_id"]
        );
        assert_eq!(
            columns::<service_point::Entity>(wanted.service_point),
            [
                "id",
                "organization_id",
                "client_id",
                "address_line1",
                "city",
                "province",
                "postal_code"
            ]
        );
        assert_eq!(
            columns::<occupant::Entity>(wanted.occupant),
            ["id", "organization_id", "service_point_id", "phone"]
        );
    }

    #[test]
    fn fragments_inline_fragments_and_aliases_count_and_other_entities_read_everything() {
        let wanted = wanted(
            "query A { node(id: \"x\") { ...on Occupant { n: notes } } } \
             query B { clients { edges { node { ...C } } } } \
             fragment C on Client { name }",
        );
        assert_eq!(
            columns::<occupant::Entity>(wanted.occupant),
            ["id", "organization_id", "service_point_id", "notes"]
        );
        assert_eq!(
            columns::<client::Entity>(wanted.client),
            ["id", "organization_id", "name"]
        );
        assert!(wanted.of::<entity::sector::Entity>().is_all());
    }

    #[test]
    fn every_field_of_the_three_types_says_what_it_reads() {
        let sdl = crate::graphql::sdl();
        let listed: [(&str, Vec<&str>); 3] = [
            ("Client", CLIENT_FIELDS.iter().map(|f| f.0).collect()),
            (
                "ServicePoint",
                SERVICE_POINT_FIELDS.iter().map(|f| f.0).collect(),
            ),
            ("Occupant", OCCUPANT_FIELDS.iter().map(|f| f.0).collect()),
        ];
        for (type_name, listed) in listed {
            let start = sdl.find(&format!("type {type_name} ")).unwrap();
            let body = &sdl[start..start + sdl[start..].find("\n}").unwrap()];
            let fields: Vec<&str> = body
                .lines()
                .skip(1)
                .map(str::trim_start)
                .filter_map(|line| {
                    let name = line.split(['(', ':']).next()?;
                    let is_field = name.len() < line.len()
                        && name.starts_with(|c: char| c.is_ascii_lowercase())
                        && name.chars().all(|c| c.is_ascii_alphanumeric());
                    is_field.then_some(name)
                })
                .collect();
            assert_eq!(fields, listed, "{type_name}");
        }
    }
}
