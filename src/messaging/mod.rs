//! Sending an alert to one phone, by SMS or by voice call, behind one trait
//! ([`Provider`]), so that the dispatch worker does not care who carries
//! it: `twilio` (its REST API, or a compatible service's) or `log`, the
//! embedded default, which sends nothing. Pure of the database: what was
//! asked, what the provider answered, and how to read its statuses and
//! error codes.

pub mod keywords;
pub mod segments;
pub mod templates;
pub mod transliterate;
pub mod twilio;
pub mod window;

use std::future::Future;
use std::pin::Pin;

use crate::domain::Lang;

/// How an occupant is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Call,
}

/// The channel an occupant's contact method asks for.
impl From<entity::values::ContactMethod> for Channel {
    fn from(method: entity::values::ContactMethod) -> Channel {
        match method {
            entity::values::ContactMethod::Sms => Channel::Sms,
            entity::values::ContactMethod::Call => Channel::Call,
        }
    }
}

/// One message to send.
#[derive(Clone, Debug)]
pub struct Outgoing<'a> {
    pub channel: Channel,
    /// E.164 (`+14185550123`).
    pub to: &'a str,
    /// The sending number (E.164), or `None` when the provider picks it (a
    /// Twilio messaging service).
    pub from: Option<&'a str>,
    pub body: &'a str,
    /// The language a call speaks in.
    pub lang: Lang,
    /// Where the provider posts the message's later statuses.
    pub status_callback: Option<&'a str>,
}

/// The provider took the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id for it (Twilio's `SM…` or `CA…` SID), which its
    /// status callbacks name.
    pub provider_id: String,
    pub state: State,
}

/// The provider did not take the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// The provider's error code (`21211`...), or the HTTP status.
    pub code: Option<String>,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// Try again later (throttled, queue full, the provider unreachable).
    Temporary,
    /// Trying again changes nothing (an invalid number, a landline for an
    /// SMS...).
    Permanent,
    /// The recipient unsubscribed at the carrier (Twilio 21610): the
    /// occupant is opted out.
    OptedOut,
    /// No answer after the request left (a timeout, a connection cut):
    /// the provider may have taken it. Never tried again (at most once).
    Unknown,
}

/// Where a message stands at the provider, in the order statuses move:
/// a later one never goes back to an earlier one ([`State::rank`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
}

impl State {
    /// Statuses only move forward: a late `sent` never overwrites
    /// `delivered`. The three ends share the last rank.
    pub fn rank(self) -> u8 {
        match self {
            State::Queued => 0,
            State::Sending => 1,
            State::Sent => 2,
            State::Delivered | State::Undelivered | State::Failed => 3,
        }
    }

    /// Whether `next`, reported after `self`, is news.
    pub fn moves_to(self, next: State) -> bool {
        next.rank() > self.rank()
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Accepted, Refusal>> + Send + 'a>>;

/// Who carries the messages.
pub trait Provider: Send + Sync {
    /// Its name in logs and in the messages' records (`twilio`, `log`).
    fn name(&self) -> &'static str;

    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> SendFuture<'a>;
}

/// The embedded default: nothing leaves; each message is logged and
/// counted as sent, so that a server run offline works end to end.
pub struct LogProvider;

impl Provider for LogProvider {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::info!(
                channel = ?message.channel,
                to = message.to,
                body = message.body,
                "message not sent (SMS_PROVIDER=log)"
            );
            Ok(Accepted {
                provider_id: format!("log-{}", uuid::Uuid::now_v7().simple()),
                state: State::Sent,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        assert!(State::Queued.moves_to(State::Sent));
        assert!(State::Sent.moves_to(State::Delivered));
        assert!(!State::Delivered.moves_to(State::Sent));
        assert!(!State::Delivered.moves_to(State::Undelivered));
        assert!(!State::Sent.moves_to(State::Sent));
    }

    #[tokio::test]
    async fn the_log_provider_sends_nothing_and_says_sent() {
        let message = Outgoing {
            channel: Channel::Sms,
            to: "+14185550123",
            from: None,
            body: "Déneigement demain",
            lang: Lang::Fr,
            status_callback: None,
        };
        let accepted = LogProvider.send(&message).await.unwrap();
        assert_eq!(accepted.state, State::Sent);
        assert!(accepted.provider_id.starts_with("log-"));
    }
}
