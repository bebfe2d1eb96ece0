//! A provider's request rate as one budget for the whole deployment, kept
//! in PostgreSQL: a row holds the next free slot (a GCRA with no burst), and
//! each request takes the slot after it in one atomic statement, on any
//! instance. Used for the public Nominatim server (1 request/s is owed to
//! it per deployment, not per process) and any `GEOCODER_RPS`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::geocode::RateBudget;

pub struct DbRateBudget {
    db: DatabaseConnection,
    name: String,
    period: Duration,
}

impl DbRateBudget {
    /// `None` off PostgreSQL: SQLite serves one instance, whose own limiter
    /// is the deployment's.
    pub fn for_deployment(
        db: &DatabaseConnection,
        name: &str,
        requests_per_second: f64,
    ) -> Option<DbRateBudget> {
        (db.get_database_backend() == DbBackend::Postgres && requests_per_second > 0.0).then(|| {
            DbRateBudget {
                db: db.clone(),
                name: name.to_owned(),
                period: Duration::from_secs_f64(1.0 / requests_per_second),
            }
        })
    }

    /// Takes the next slot: how long to wait for it.
    async fn take(&self) -> Result<Duration, sea_orm::DbErr> {
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO rate_budget (name, next_at) \
                 VALUES ($1, clock_timestamp() + make_interval(secs => $2)) \
                 ON CONFLICT (name) DO UPDATE SET next_at = \
                 GREATEST(rate_budget.next_at, clock_timestamp()) + make_interval(secs => $2) \
                 RETURNING (EXTRACT(EPOCH FROM next_at - clock_timestamp()) - $2)::float8 AS wait",
                [self.name.clone().into(), self.period.as_secs_f64().into()],
            ))
            .await?;
        let wait: f64 = match row {
            Some(row) => row.try_get("", "wait")?,
            None => 0.0,
        };
        Ok(Duration::from_secs_f64(wait.max(0.0)))
    }
}

impl RateBudget for DbRateBudget {
    fn turn(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            match self.take().await {
                Ok(wait) => tokio::time::sleep(wait).await,
                // The process's own limiter still holds; better a request
                // than a stalled worker.
                Err(error) => crate::service::log_internal(&error),
            }
        })
    }
}
