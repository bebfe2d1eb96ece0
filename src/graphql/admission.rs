//! What one party may hold at once: an organization's live subscriptions
//! (each polls the database as long as it lives), expensive operations (a
//! cost at or over a threshold) and websockets, an address's sockets not
//! yet authenticated. One party's flood waits its turn without starving the
//! others.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use uuid::Uuid;

use crate::auth::OrgId;
use crate::error::{ApiError, Message};

/// Who may hold places: an organization, or an address.
pub trait Party: Hash + Eq + Copy + Send + Sync + 'static {}
impl Party for Uuid {}
impl Party for IpAddr {}

/// Places per party (an organization by default), within a cap.
pub struct Slots<K: Party = Uuid> {
    max: usize,
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Party> Slots<K> {
    pub fn new(max: usize) -> Arc<Slots<K>> {
        Arc::new(Slots {
            max,
            held: Mutex::default(),
        })
    }

    /// A place for `party`, or `LIMIT_EXCEEDED` with `refusal(max)`.
    pub fn take_for(
        self: &Arc<Self>,
        party: K,
        refusal: impl FnOnce(usize) -> Message,
    ) -> Result<Slot<K>, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(party).or_default();
        if *count >= self.max {
            return Err(ApiError::LimitExceeded(refusal(self.max)));
        }
        *count += 1;
        Ok(Slot {
            slots: self.clone(),
            party,
        })
    }
}

impl Slots {
    /// A place for `org`, or `LIMIT_EXCEEDED` with `refusal(max)`.
    pub fn take(
        self: &Arc<Self>,
        org: OrgId,
        refusal: impl FnOnce(usize) -> Message,
    ) -> Result<Slot, ApiError> {
        self.take_for(org.uuid(), refusal)
    }
}

/// One place, given back when dropped.
pub struct Slot<K: Party = Uuid> {
    slots: Arc<Slots<K>>,
    party: K,
}

impl<K: Party> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.party) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.party);
            }
        }
    }
}

/// The subscriptions' places (schema data).
pub struct SubscriptionSlots(pub Arc<Slots>);

impl SubscriptionSlots {
    pub fn take(
        &self,
        org: OrgId,
        refusal: impl FnOnce(usize) -> Message,
    ) -> Result<Slot, ApiError> {
        self.0.take(org, refusal)
    }
}
