//! The records read most (clients, service points, occupants: every nested
//! read, every import's load, the export) decoded by column position,
//! straight from the driver's row. SeaORM's derived decoding looks each
//! column up by name (hashing it, twice) and formats an error message for
//! every NULL it meets before turning it into `None`: about a quarter of a
//! nested read's instructions (`perf/instructions.sh`).
//!
//! A `SELECT` of an entity lists its columns in the model's field order,
//! which is the order each decoder below reads them in; debug builds (the
//! tests) check every column's name against the field it fills.

use entity::{client, occupant, service_point};
use sea_orm::sqlx::{self, Decode, Postgres, Row, Sqlite, Type};
use sea_orm::{ActiveEnum, DbErr, FromQueryResult, QueryResult};

/// A model decoded by position (see the module's documentation).
pub struct Positional<M>(M);

/// The driver's row, read column after column.
enum Columns<'a> {
    Postgres(&'a sqlx::postgres::PgRow, usize),
    Sqlite(&'a sqlx::sqlite::SqliteRow, usize),
}

impl<'a> Columns<'a> {
    // Inlined into each decoder: where the compiler placed these (a
    // codegen unit apart from their callers) cost a nested read 0.3 %.
    #[inline]
    fn of(result: &'a QueryResult) -> Option<Columns<'a>> {
        if let Some(row) = result.try_as_pg_row() {
            return Some(Columns::Postgres(row, 0));
        }
        result
            .try_as_sqlite_row()
            .map(|row| Columns::Sqlite(row, 0))
    }

    /// The next column's value; `name` is the field it fills.
    #[inline]
    fn next<T>(&mut self, name: &str) -> Result<T, DbErr>
    where
        T: for<'r> Decode<'r, Postgres>
            + Type<Postgres>
            + for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>,
    {
        let decoded = match self {
            Columns::Postgres(row, index) => {
                debug_assert_eq!(sqlx::Column::name(&row.columns()[*index]), name);
                *index += 1;
                // sqlx checks each value's type against the Rust type by
                // comparing PostgreSQL type descriptions: a tenth of a
                // nested read's instructions (perf/RESULTS.md). The columns
                // are our schema's, named in order above; debug builds (the
                // tests) still check the types.
                if cfg!(debug_assertions) {
                    row.try_get(*index - 1)
                } else {
                    row.try_get_unchecked(*index - 1)
                }
            }
            Columns::Sqlite(row, index) => {
                debug_assert_eq!(sqlx::Column::name(&row.columns()[*index]), name);
                *index += 1;
                row.try_get(*index - 1)
            }
        };
        decoded.map_err(|error| DbErr::Type(format!("{name}: {error}")))
    }

    /// The next column's value, an enumeration stored as text.
    #[inline]
    fn next_enum<E: ActiveEnum<Value = String>>(&mut self, name: &str) -> Result<E, DbErr> {
        E::try_from_value(&self.next::<String>(name)?)
    }
}

/// Models that decode by position: `decode` reads every column in order.
macro_rules! positional {
    ($($module:ident { $($field:ident: $how:ident),* $(,)? })*) => {$(
        impl FromQueryResult for Positional<$module::Model> {
            fn from_query_result(result: &QueryResult, prefix: &str) -> Result<Self, DbErr> {
                let Some(mut columns) = Columns::of(result).filter(|_| prefix.is_empty()) else {
                    return $module::Model::from_query_result(result, prefix).map(Positional);
                };
                Ok(Positional($module::Model {
                    $($field: columns.$how(stringify!($field))?,)*
                }))
            }
        }

        impl From<Positional<$module::Model>> for $module::Model {
            fn from(positional: Positional<$module::Model>) -> $module::Model {
                positional.0
            }
        }
    )*};
}

positional! {
    client {
        id: next,
        organization_id: next,
        external_id: next,
        address_key: next,
        name: next,
        search_key: next,
        created_at: next,
        updated_at: next,
    }
    service_point {
        id: next,
        organization_id: next,
        client_id: next,
        address_line1: next,
        city: next,
        province: next,
        postal_code: next,
        address_key: next,
        latitude: next,
        longitude: next,
        geocode_status: next_enum,
        geocode_provider: next,
        geocoded_at: next,
        created_at: next,
        updated_at: next,
    }
    occupant {
        id: next,
        organization_id: next,
        service_point_id: next,
        first_name: next,
        last_name: next,
        phone: next,
        contact_method: next_enum,
        notes: next,
        language: next_enum,
        created_at: next,
        updated_at: next,
    }
}
