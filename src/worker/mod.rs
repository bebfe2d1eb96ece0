//! Background work. One [`Runner`] starts, paces, leases and stops every
//! worker the same way; each worker (a file here) says only what one pass
//! does. A deployment shares a worker in one of two ways ([`Share`]):
//!
//! - **claims**: every instance runs it, and each pass claims its items
//!   with a lease (`service::store::claims`), so instances never take the
//!   same item and a dead instance's items come back when their lease
//!   lapses (geocoding, queued imports, webhook deliveries, alert
//!   messages);
//! - **turns**: one instance at a time runs a chore, holding the
//!   deployment's turn (a lease row in `worker_lease`, which is also the
//!   schedule) for its interval (retention).

pub mod dispatch;
pub mod geocoding;
pub mod imports;
pub mod retention;
pub mod webhooks;

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use entity::worker_lease;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, EntityTrait, Set};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::service::store::claims::after;
use crate::service::{ServiceError, log_internal};

/// How the instances of a deployment share a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// Every instance runs it; its passes claim items with leases.
    Claims,
    /// One pass per `every` in the whole deployment, by whichever
    /// instance takes the turn.
    Turns { every: Duration },
}

/// What a pass leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// A full batch: more is waiting, go again at once (a backlog drains
    /// at the pace of the work itself).
    More,
    /// Rest until the worker's interval, or a notice, says to go again.
    Rest,
}

/// A kind of background work.
pub trait Worker: Send + 'static {
    /// Its name in logs, and its turn's name in `worker_lease`.
    const NAME: &'static str;

    fn share(&self) -> Share {
        Share::Claims
    }

    /// How long to rest between passes that leave nothing waiting.
    fn rest(&self) -> Duration;

    fn pass(
        &mut self,
        db: &DatabaseConnection,
    ) -> impl Future<Output = Result<Pace, ServiceError>> + Send;

    /// Waits out a rest. Workers woken sooner (a notice, their own work
    /// ending) say so here.
    fn idle(&mut self, rest: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(rest)
    }

    /// After the last pass: lets work still in flight end (within the
    /// runner's grace).
    fn drain(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Work a worker started and has not seen end, up to `most` at once.
/// What ends in an error is logged: its lease lapses and it is taken up
/// again.
pub struct InFlight {
    tasks: JoinSet<Result<(), ServiceError>>,
    most: usize,
}

impl InFlight {
    pub fn new(most: usize) -> InFlight {
        InFlight {
            tasks: JoinSet::new(),
            most: most.max(1),
        }
    }

    /// How many more may start now.
    pub fn free(&self) -> usize {
        self.most.saturating_sub(self.tasks.len())
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn start(&mut self, work: impl Future<Output = Result<(), ServiceError>> + Send + 'static) {
        self.tasks.spawn(work);
    }

    /// Waits for one to end; never resolves while none runs.
    pub async fn one_ended(&mut self) {
        match self.tasks.join_next().await {
            Some(joined) => log_ended(joined),
            None => std::future::pending().await,
        }
    }

    /// Waits for all to end.
    pub async fn drain(&mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            log_ended(joined);
        }
    }
}

/// What a worker that sends things out holds: its sends in flight and
/// the notices that say more is due. Its rest ends at a notice, at the
/// interval, or as soon as a send ends and frees a place.
pub struct Sending {
    pub notices: Notices,
    pub in_flight: InFlight,
}

impl Sending {
    pub fn new(channel: &'static str, most: usize) -> Sending {
        Sending {
            notices: Notices::new(channel),
            in_flight: InFlight::new(most),
        }
    }

    pub async fn idle(&mut self, rest: Duration) {
        tokio::select! {
            () = self.in_flight.one_ended() => {}
            () = self.notices.wait(rest) => {}
        }
    }
}

fn log_ended(joined: Result<Result<(), ServiceError>, tokio::task::JoinError>) {
    match joined {
        Ok(Err(error)) => log_internal(&error),
        Err(error) if error.is_panic() => log_internal(&error),
        _ => {}
    }
}

/// Runs the workers of one instance until it stops.
pub struct Runner {
    db: DatabaseConnection,
    stopping: watch::Sender<bool>,
    workers: JoinSet<()>,
}

impl Runner {
    pub fn new(db: DatabaseConnection) -> Runner {
        Runner {
            db,
            stopping: watch::Sender::new(false),
            workers: JoinSet::new(),
        }
    }

    pub fn start<W: Worker>(&mut self, worker: W) {
        let (db, stopping) = (self.db.clone(), self.stopping.subscribe());
        self.workers.spawn(run(db, worker, stopping));
    }

    /// No pass starts any more; passes under way and work in flight have
    /// `grace` to end, then are dropped (their leases lapse, and another
    /// instance takes the work up).
    pub async fn stop(mut self, grace: Duration) {
        self.stopping.send_replace(true);
        let all_ended = async { while self.workers.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_ended).await.is_err() {
            tracing::warn!(
                ?grace,
                "background work still running after the grace period, dropped"
            );
        }
    }
}

async fn run<W: Worker>(
    db: DatabaseConnection,
    mut worker: W,
    mut stopping: watch::Receiver<bool>,
) {
    let holder = Uuid::now_v7();
    while !*stopping.borrow_and_update() {
        let pace = match worker.share() {
            Share::Claims => worker.pass(&db).await,
            Share::Turns { every } => match take_turn(&db, W::NAME, holder, every).await {
                Ok(true) => worker.pass(&db).await,
                Ok(false) => Ok(Pace::Rest),
                Err(error) => Err(error.into()),
            },
        };
        let pace = pace.unwrap_or_else(|error| {
            log_internal(&error);
            Pace::Rest
        });
        if pace == Pace::Rest {
            let rest = worker.rest();
            tokio::select! {
                () = worker.idle(rest) => {}
                _ = stopping.changed() => {}
            }
        }
    }
    worker.drain().await;
}

/// Takes the chore `name` for `every` unless another holder's turn still
/// runs: the lease is also the schedule.
pub async fn take_turn(
    db: &DatabaseConnection,
    name: &str,
    holder: Uuid,
    every: Duration,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let lease = worker_lease::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder),
        claimed_until: Set(after(now, every)),
    };
    let when_lapsed = OnConflict::column(worker_lease::Column::Name)
        .update_columns([
            worker_lease::Column::Holder,
            worker_lease::Column::ClaimedUntil,
        ])
        .action_and_where(
            Expr::col((worker_lease::Entity, worker_lease::Column::ClaimedUntil)).lt(now),
        )
        .to_owned();
    let taken = worker_lease::Entity::insert(lease)
        .on_conflict(when_lapsed)
        .exec_without_returning(db)
        .await?;
    Ok(taken == 1)
}

/// What a worker woken by PostgreSQL notices waits on: its rest, or a
/// notice on its channel, whichever comes first. SQLite's single instance
/// only rests. The listening connection is opened by the worker's first
/// pass, in its own task: starting the server does not wait for it.
pub struct Notices {
    channel: &'static str,
    listening: Listening,
}

enum Listening {
    NotYet,
    Resting,
    On(sea_orm::sqlx::postgres::PgListener),
}

impl Notices {
    pub fn new(channel: &'static str) -> Notices {
        Notices {
            channel,
            listening: Listening::NotYet,
        }
    }

    /// Listens from now on (once; later calls do nothing).
    pub async fn listen(&mut self, db: &DatabaseConnection) {
        if !matches!(self.listening, Listening::NotYet) {
            return;
        }
        self.listening = Listening::Resting;
        if db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        let pool = db.get_postgres_connection_pool();
        let listener = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(self.channel).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => self.listening = Listening::On(listener),
            // Resting still gets the work done, only later.
            Err(error) => log_internal(&error),
        }
    }

    pub async fn wait(&mut self, rest: Duration) {
        let Listening::On(listener) = &mut self.listening else {
            return tokio::time::sleep(rest).await;
        };
        if let Ok(Err(error)) = tokio::time::timeout(rest, listener.recv()).await {
            // The connection is being re-established: no busy loop.
            tracing::debug!(%error, "notice listener");
            tokio::time::sleep(rest).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts its passes: `More` for the first `backlog`, then `Rest` for
    /// an hour; its drain takes `drain`.
    struct Counting {
        passes: Arc<AtomicUsize>,
        drained: Arc<AtomicUsize>,
        backlog: usize,
        drain: Duration,
    }

    impl Worker for Counting {
        const NAME: &'static str = "counting";

        fn rest(&self) -> Duration {
            Duration::from_secs(3600)
        }

        async fn pass(&mut self, _db: &DatabaseConnection) -> Result<Pace, ServiceError> {
            let done = self.passes.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(if done <= self.backlog {
                Pace::More
            } else {
                Pace::Rest
            })
        }

        async fn drain(&mut self) {
            tokio::time::sleep(self.drain).await;
            self.drained.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting(backlog: usize, drain: Duration) -> (Counting, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (passes, drained) = (Arc::default(), Arc::default());
        let worker = Counting {
            passes: Arc::clone(&passes),
            drained: Arc::clone(&drained),
            backlog,
            drain,
        };
        (worker, passes, drained)
    }

    /// The clock is paused: sleeps end when nothing else can run, so the
    /// test waits for no real hour and asserts no timing.
    #[tokio::test(start_paused = true)]
    async fn a_backlog_drains_at_once_then_the_worker_rests_until_stopped() {
        let mut runner = Runner::new(DatabaseConnection::default());
        let (worker, passes, drained) = counting(3, Duration::ZERO);
        runner.start(worker);
        tokio::time::sleep(Duration::from_secs(60)).await;
        // Three full batches, then one pass that leaves nothing: resting.
        assert_eq!(passes.load(Ordering::SeqCst), 4);
        runner.stop(Duration::from_secs(30)).await;
        assert_eq!(drained.load(Ordering::SeqCst), 1);
        // Stopped during its rest: no pass after.
        tokio::time::sleep(Duration::from_secs(7200)).await;
        assert_eq!(passes.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn work_still_running_after_the_grace_is_dropped() {
        let mut runner = Runner::new(DatabaseConnection::default());
        let (worker, passes, drained) = counting(0, Duration::from_secs(3600));
        runner.start(worker);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = tokio::time::Instant::now();
        runner.stop(Duration::from_secs(5)).await;
        // Virtual time: the grace, not the hour the drain would take.
        let waited = before.elapsed();
        assert!(waited >= Duration::from_secs(5) && waited < Duration::from_secs(60));
        assert_eq!(passes.load(Ordering::SeqCst), 1);
        assert_eq!(drained.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_work_is_bounded_and_waited_for() {
        let mut work = InFlight::new(2);
        assert_eq!(work.free(), 2);
        let ended = Arc::new(AtomicUsize::new(0));
        for seconds in [1, 2] {
            let ended = Arc::clone(&ended);
            work.start(async move {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                ended.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(work.free(), 0);
        work.one_ended().await;
        assert_eq!((ended.load(Ordering::SeqCst), work.free()), (1, 1));
        work.drain().await;
        assert_eq!((ended.load(Ordering::SeqCst), work.free()), (2, 2));
    }
}
