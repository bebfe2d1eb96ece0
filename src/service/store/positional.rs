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
//!
//! A read may select only some of the columns, still in that order
//! ([`ColumnMask`]; the GraphQL reads ask only for what the request's
//! fields need): a field whose column the row lacks gets a placeholder
//! ([`Unread`]), which nothing reads, since nothing asked for it.

use chrono::{DateTime, Utc};
use entity::values::{ContactMethod, GeocodeStatus, Language};
use entity::{client, occupant, service_point};
use sea_orm::sqlx::{self, Decode, Postgres, Row, Sqlite, Type};
use sea_orm::{ActiveEnum, DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

/// A model decoded by position (see the module's documentation).
pub struct Positional<M>(M);

/// Which of an entity's columns a read selects: bit `i` for the `i`-th
/// column in the model's order. Always a subsequence of the full select,
/// which is what lets [`Positional`] decode it by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColumnMask(pub u64);

impl ColumnMask {
    pub const ALL: ColumnMask = ColumnMask(u64::MAX);

    pub fn is_all(self) -> bool {
        self == ColumnMask::ALL
    }

    pub fn contains(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
}

/// The value a field gets when its column was not selected.
trait Unread {
    fn unread() -> Self;
}

macro_rules! unread {
    ($($ty:ty => $value:expr),* $(,)?) => {$(
        impl Unread for $ty {
            fn unread() -> Self {
                $value
            }
        }
    )*};
}

unread! {
    String => String::new(),
    Uuid => Uuid::nil(),
    DateTime<Utc> => DateTime::<Utc>::UNIX_EPOCH,
    GeocodeStatus => GeocodeStatus::Pending,
    ContactMethod => ContactMethod::Sms,
    Language => Language::Fr,
}

impl<T> Unread for Option<T> {
    fn unread() -> Self {
        None
    }
}

/// The driver's row.
enum Driver<'a> {
    Postgres(&'a sqlx::postgres::PgRow),
    Sqlite(&'a sqlx::sqlite::SqliteRow),
}

impl Driver<'_> {
    /// The name of the row's column at `index`, if it has that many.
    #[inline]
    fn column_name(&self, index: usize) -> Option<&str> {
        match self {
            Driver::Postgres(row) => row.columns().get(index).map(sqlx::Column::name),
            Driver::Sqlite(row) => row.columns().get(index).map(sqlx::Column::name),
        }
    }
}

/// The driver's row, read column after column.
struct Columns<'a> {
    row: Driver<'a>,
    index: usize,
    /// Fewer columns than the model has fields: each is matched by name.
    partial: bool,
}

impl<'a> Columns<'a> {
    // Inlined into each decoder: where the compiler placed these (a
    // codegen unit apart from their callers) cost a nested read 0.3 %.
    #[inline]
    fn of(result: &'a QueryResult, fields: usize) -> Option<Columns<'a>> {
        let (row, columns) = if let Some(row) = result.try_as_pg_row() {
            (Driver::Postgres(row), row.columns().len())
        } else {
            let row = result.try_as_sqlite_row()?;
            (Driver::Sqlite(row), row.columns().len())
        };
        Some(Columns {
            row,
            index: 0,
            partial: columns < fields,
        })
    }

    /// Whether the row's next column is `name`'s (a partial row skips the
    /// fields it does not hold).
    #[inline]
    fn holds(&self, name: &str) -> bool {
        !self.partial || self.row.column_name(self.index) == Some(name)
    }

    /// The value of the field `name`: its column's, or a placeholder when
    /// the read did not select it.
    #[inline]
    fn read<T>(&mut self, name: &str) -> Result<T, DbErr>
    where
        T: for<'r> Decode<'r, Postgres>
            + Type<Postgres>
            + for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + Unread,
    {
        match self.holds(name) {
            true => self.next(name),
            false => Ok(T::unread()),
        }
    }

    /// [`Columns::read`] for an enumeration stored as text.
    #[inline]
    fn read_enum<E: ActiveEnum<Value = String> + Unread>(
        &mut self,
        name: &str,
    ) -> Result<E, DbErr> {
        match self.holds(name) {
            true => E::try_from_value(&self.next::<String>(name)?),
            false => Ok(E::unread()),
        }
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
        debug_assert_eq!(self.row.column_name(self.index), Some(name));
        let index = self.index;
        self.index += 1;
        let decoded = match self.row {
            // sqlx checks each value's type against the Rust type by
            // comparing PostgreSQL type descriptions: a tenth of a nested
            // read's instructions (perf/RESULTS.md). The columns are our
            // schema's, named in order above; debug builds (the tests)
            // still check the types.
            Driver::Postgres(row) if cfg!(debug_assertions) => row.try_get(index),
            Driver::Postgres(row) => row.try_get_unchecked(index),
            Driver::Sqlite(row) => row.try_get(index),
        };
        decoded.map_err(|error| DbErr::Type(format!("{name}: {error}")))
    }
}

/// Models that decode by position: `decode` reads every column in order.
macro_rules! positional {
    ($($module:ident { $($field:ident: $how:ident),* $(,)? })*) => {$(
        impl FromQueryResult for Positional<$module::Model> {
            fn from_query_result(result: &QueryResult, prefix: &str) -> Result<Self, DbErr> {
                const FIELDS: usize = [$(stringify!($field)),*].len();
                let Some(mut columns) = Columns::of(result, FIELDS).filter(|_| prefix.is_empty())
                else {
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
        id: read,
        organization_id: read,
        external_id: read,
        address_key: read,
        name: read,
        search_key: read,
        created_at: read,
        updated_at: read,
    }
    service_point {
        id: read,
        organization_id: read,
        client_id: read,
        address_line1: read,
        city: read,
        province: read,
        postal_code: read,
        address_key: read,
        latitude: read,
        longitude: read,
        geocode_status: read_enum,
        geocode_provider: read,
        geocoded_at: read,
        created_at: read,
        updated_at: read,
    }
    occupant {
        id: read,
        organization_id: read,
        service_point_id: read,
        first_name: read,
        last_name: read,
        phone: read,
        contact_method: read_enum,
        notes: read,
        language: read_enum,
        created_at: read,
        updated_at: read,
    }
}
