//! What an organization may run at once: live subscriptions (each polls
//! the database as long as it lives), and expensive operations (a
//! complexity at or over a threshold). One organization's flood waits its
//! turn without starving the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{Pos, ServerError, ValidationResult};
use uuid::Uuid;

use super::Tenant;
use crate::auth::OrgId;
use crate::error::{ApiError, Message};

/// Places per organization, within a cap.
pub struct Slots {
    max: usize,
    held: Mutex<HashMap<Uuid, usize>>,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max,
            held: Mutex::default(),
        })
    }

    /// A place for `org`, or `LIMIT_EXCEEDED` with `refusal(max)`.
    pub fn take(
        self: &Arc<Self>,
        org: OrgId,
        refusal: impl FnOnce(usize) -> Message,
    ) -> Result<Slot, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(org.uuid()).or_default();
        if *count >= self.max {
            return Err(ApiError::LimitExceeded(refusal(self.max)));
        }
        *count += 1;
        Ok(Slot {
            slots: self.clone(),
            org: org.uuid(),
        })
    }
}

/// One place, given back when dropped.
pub struct Slot {
    slots: Arc<Slots>,
    org: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.org) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.org);
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

/// An operation whose complexity reaches `threshold` takes one of its
/// organization's places for as long as it runs (the extension lives as
/// long as the request or the subscription).
pub struct ExpensiveOperations {
    pub slots: Arc<Slots>,
    pub threshold: usize,
}

impl ExtensionFactory for ExpensiveOperations {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ExpensiveGuard {
            slots: self.slots.clone(),
            threshold: self.threshold,
            slot: Mutex::new(None),
        })
    }
}

struct ExpensiveGuard {
    slots: Arc<Slots>,
    threshold: usize,
    slot: Mutex<Option<Slot>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for ExpensiveGuard {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let Some(tenant) = ctx.data_opt::<Tenant>() else {
            return Ok(result);
        };
        if result.complexity < self.threshold {
            return Ok(result);
        }
        let refusal = |max| {
            Message::new(
                format!(
                    "Trop de requêtes coûteuses en cours pour cette organisation : {max} au plus à la fois. Réessayez dans un instant."
                ),
                format!(
                    "Too many expensive requests running for this organization: {max} at a time. Try again in a moment."
                ),
            )
        };
        match self.slots.take(tenant.org, refusal) {
            Ok(slot) => {
                *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(slot);
                Ok(result)
            }
            Err(refused) => Err(vec![
                async_graphql::Error::from(refused).into_server_error(Pos::default()),
            ]),
        }
    }
}
