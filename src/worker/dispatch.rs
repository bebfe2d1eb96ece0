//! Alert dispatch: every instance claims due messages with a lease, waits
//! for a sending number's slot (the carrier's rate, shared by the
//! deployment), marks each `SENDING` (committed) before the provider is
//! called, and records the answer. Messages whose sending hours closed
//! meanwhile go back to wait; those whose instance died mid-call become
//! `FAILED`, `UNKNOWN_OUTCOME`, never sent twice.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use entity::alert_message;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{Pace, Sending, Worker};
use crate::auth::OrgId;
use crate::config::{AlertConfig, SmsProvider};
use crate::domain::Clock;
use crate::messaging::twilio::{Senders, Twilio, TwilioConfigError};
use crate::messaging::window::SendingHours;
use crate::messaging::{LogProvider, Outgoing, Provider};
use crate::service::ServiceError;
use crate::service::alerts::reads::Rate;
use crate::service::alerts::sending::{self, DueMessages};
use crate::service::alerts::{CHANNEL, settings};
use crate::service::store::claims;
use crate::service::store::rate_budget::SenderSlots;

/// What one instance's dispatch runs with.
pub struct Dispatcher {
    pub provider: Arc<dyn Provider>,
    pub slots: Arc<SenderSlots>,
    pub clock: Clock,
    /// Where the provider posts statuses (`PUBLIC_URL/twilio/status`).
    pub status_callback: Option<String>,
    /// How long one call to the provider may take.
    pub timeout: Duration,
    pub retry_delays: Vec<Duration>,
    /// Messages in hand at once.
    pub batch: usize,
    pub interval: Duration,
}

impl Dispatcher {
    /// The dispatch `config` asks for: the provider, its senders at the
    /// carrier's rate (the log provider owes no one a rate).
    pub fn configured(
        config: &AlertConfig,
        db: &DatabaseConnection,
    ) -> Result<Dispatcher, TwilioConfigError> {
        let (provider, senders, rate): (Arc<dyn Provider>, _, _) = match config.sms_provider {
            SmsProvider::Log => (Arc::new(LogProvider), Vec::new(), 0.0),
            SmsProvider::Twilio => {
                let senders = match &config.twilio_messaging_service_sid {
                    Some(sid) if !sid.is_empty() => Senders::MessagingService(sid.clone()),
                    _ => Senders::Numbers(
                        config
                            .twilio_from
                            .iter()
                            .map(|n| n.trim().to_owned())
                            .filter(|n| !n.is_empty())
                            .collect(),
                    ),
                };
                let pool = match &senders {
                    Senders::Numbers(numbers) => numbers.iter().cloned().map(Some).collect(),
                    Senders::MessagingService(_) => Vec::new(),
                };
                let twilio = Twilio::new(
                    &config.twilio_base_url,
                    &config.twilio_account_sid,
                    &config.twilio_auth_token,
                    senders,
                    config.sms_timeout,
                )?;
                (Arc::new(twilio), pool, config.sms_rate)
            }
        };
        let status_callback = match config.sms_provider {
            SmsProvider::Twilio => config
                .public_url
                .as_deref()
                .map(|url| format!("{}/twilio/status", url.trim_end_matches('/'))),
            SmsProvider::Log => None,
        };
        Ok(Dispatcher {
            provider,
            slots: Arc::new(SenderSlots::new(db, senders, rate)),
            clock: config.clock,
            status_callback,
            timeout: config.sms_timeout,
            retry_delays: config.sms_retry_delays.clone(),
            batch: config.dispatch_workers.max(1),
            interval: config.dispatch_worker_interval,
        })
    }

    /// The deployment's sending rate, as `lastMessageExpectedAt` counts it.
    pub fn rate(&self) -> Rate {
        Rate {
            period: self.slots.period(),
            senders: self.slots.senders(),
        }
    }
}

/// Every instance runs one.
pub struct Dispatch {
    dispatcher: Arc<Dispatcher>,
    sends: Sending,
    /// The organizations' sending hours, read again at each sweep.
    hours: HashMap<Uuid, SendingHours>,
    /// When lost calls and scheduled messages come due were last looked
    /// for: once per interval, not at every pass (a pass follows each
    /// send that ends).
    swept_at: Option<tokio::time::Instant>,
}

impl Dispatch {
    pub fn new(dispatcher: Dispatcher) -> Dispatch {
        Dispatch {
            sends: Sending::new(CHANNEL, dispatcher.batch),
            hours: HashMap::new(),
            swept_at: None,
            dispatcher: Arc::new(dispatcher),
        }
    }
}

/// A call's lease: the provider's timeout, and room to record the answer.
/// Past it the outcome is declared unknown.
fn call_lease(timeout: Duration) -> Duration {
    timeout + Duration::from_secs(5)
}

/// A claim's lease: long enough for the messages in hand to wait for their
/// slots (the batch, at the carrier's rate), then be marked.
fn claim_lease(dispatcher: &Dispatcher) -> Duration {
    let waiting = dispatcher
        .slots
        .period()
        .map_or(Duration::ZERO, |period| period * dispatcher.batch as u32);
    Duration::from_secs(30) + waiting
}

impl Worker for Dispatch {
    const NAME: &'static str = "alert dispatch";

    fn rest(&self) -> Duration {
        self.dispatcher.interval
    }

    async fn pass(&mut self, db: &DatabaseConnection) -> Result<Pace, ServiceError> {
        self.sends.notices.listen(db).await;
        let now = self.dispatcher.clock.now();
        let interval = self.dispatcher.interval;
        if self.swept_at.is_none_or(|at| at.elapsed() >= interval) {
            sending::declare_lost(db, now).await?;
            sending::release_scheduled(db, now).await?;
            self.hours.clear();
            self.swept_at = Some(tokio::time::Instant::now());
        }
        // While sends are in flight, claim by groups of half the places: one
        // claim's statements serve several messages.
        let free = self.sends.in_flight.free();
        let group = (self.dispatcher.batch / 2).max(1);
        if free == 0 || (free < group && !self.sends.in_flight.is_empty()) {
            return Ok(Pace::Rest);
        }
        let lease = claim_lease(&self.dispatcher);
        let (due, until) = claims::claim_at::<DueMessages>(db, now, free as u64, lease).await?;
        let full = due.len() == free;
        for mut message in due {
            // Ours until then: the claim the next steps hold it by.
            message.claimed_until = Some(until);
            let opening = match self.hours.entry(message.organization_id) {
                Entry::Occupied(known) => known.get().next_open(now),
                Entry::Vacant(unknown) => {
                    let rules = settings::get(db, OrgId::owning(&message)).await?;
                    unknown.insert(settings::hours(&rules)).next_open(now)
                }
            };
            if opening > now {
                sending::reschedule(db, &message, opening, now).await?;
                continue;
            }
            let (db, dispatcher) = (db.clone(), Arc::clone(&self.dispatcher));
            self.sends
                .in_flight
                .start(async move { Ok(send(&db, &dispatcher, message).await?) });
        }
        // In hand up to the batch: the next pass claims as sends end.
        Ok(if full && self.sends.in_flight.free() > 0 {
            Pace::More
        } else {
            Pace::Rest
        })
    }

    async fn idle(&mut self, rest: Duration) {
        self.sends.idle(rest).await;
    }

    async fn drain(&mut self) {
        self.sends.in_flight.drain().await;
    }
}

/// Sends one claimed message: its slot, `SENDING`, the call, the answer.
async fn send(
    db: &DatabaseConnection,
    dispatcher: &Dispatcher,
    message: alert_message::Model,
) -> Result<(), sea_orm::DbErr> {
    let slot = dispatcher.slots.take().await?;
    tokio::time::sleep(slot.wait).await;
    let now = dispatcher.clock.now();
    let marked = sending::mark_sending(
        db,
        &message,
        slot.sender.as_deref(),
        call_lease(dispatcher.timeout),
        now,
    )
    .await?;
    if !marked {
        return Ok(());
    }
    let outgoing = Outgoing {
        channel: message.channel.into(),
        to: message.to_phone.as_deref().unwrap_or_default(),
        from: slot.sender.as_deref(),
        body: &message.body,
        lang: message.language.into(),
        status_callback: dispatcher.status_callback.as_deref(),
    };
    let answer = dispatcher.provider.send(&outgoing).await;
    let now = dispatcher.clock.now();
    sending::record(db, &message, answer, &dispatcher.retry_delays, now).await
}
