//! Opaque global IDs, `base64url("Client:<uuid>")`: what the API and the
//! webhooks' payloads name records by.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Client,
    ServicePoint,
    Occupant,
    Sector,
    ImportRun,
    WebhookEndpoint,
    WebhookDelivery,
    SectorAlert,
    AlertMessage,
    Reply,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::Client,
        Kind::ServicePoint,
        Kind::Occupant,
        Kind::Sector,
        Kind::ImportRun,
        Kind::WebhookEndpoint,
        Kind::WebhookDelivery,
        Kind::SectorAlert,
        Kind::AlertMessage,
        Kind::Reply,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Client => "Client",
            Kind::ServicePoint => "ServicePoint",
            Kind::Occupant => "Occupant",
            Kind::Sector => "Sector",
            Kind::ImportRun => "ImportRun",
            Kind::WebhookEndpoint => "WebhookEndpoint",
            Kind::WebhookDelivery => "WebhookDelivery",
            Kind::SectorAlert => "SectorAlert",
            Kind::AlertMessage => "AlertMessage",
            Kind::Reply => "Reply",
        }
    }
}

pub fn encode(kind: Kind, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.name(), id.simple()))
}

/// `None` when malformed.
pub fn decode(text: &str) -> Option<(Kind, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, Uuid::parse_str(uuid).ok()?))
}
