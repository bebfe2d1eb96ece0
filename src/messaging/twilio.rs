//! Twilio's REST API, or any service that speaks it (`TWILIO_BASE_URL`):
//! two form posts, `Messages.json` and `Calls.json`, with Basic auth. No
//! SDK: none is kept up for Rust, and these two calls, the signature of
//! the callbacks and the reading of statuses and error codes are all this
//! needs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde::Deserialize;

use super::{Accepted, Channel, Outgoing, Provider, Refusal, RefusalKind, SendFuture, State};
use crate::domain::Lang;

/// Who the messages come from: numbers of the account (a pool shares the
/// load, each at the carrier's rate), or a messaging service, which picks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Senders {
    Numbers(Vec<String>),
    MessagingService(String),
}

pub struct Twilio {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
    senders: Senders,
}

#[derive(Debug, thiserror::Error)]
pub enum TwilioConfigError {
    #[error("Twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")]
    MissingCredentials,
    #[error("Twilio needs TWILIO_FROM (numbers) or TWILIO_MESSAGING_SERVICE_SID")]
    MissingSender,
    #[error("Twilio HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl Twilio {
    pub fn new(
        base_url: &str,
        account_sid: &str,
        auth_token: &str,
        senders: Senders,
        timeout: Duration,
    ) -> Result<Twilio, TwilioConfigError> {
        if account_sid.is_empty() || auth_token.is_empty() {
            return Err(TwilioConfigError::MissingCredentials);
        }
        let no_sender = match &senders {
            Senders::Numbers(numbers) => numbers.is_empty(),
            Senders::MessagingService(sid) => sid.is_empty(),
        };
        if no_sender {
            return Err(TwilioConfigError::MissingSender);
        }
        crate::geocode::install_tls_provider();
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Twilio {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            senders,
        })
    }

    pub fn senders(&self) -> &Senders {
        &self.senders
    }

    fn endpoint(&self, channel: Channel) -> String {
        let resource = match channel {
            Channel::Sms => "Messages",
            Channel::Call => "Calls",
        };
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.base_url, self.account_sid
        )
    }

    /// The form fields of one message.
    fn form(&self, message: &Outgoing<'_>) -> Vec<(&'static str, String)> {
        let mut form = vec![("To", message.to.to_owned())];
        match (message.from, &self.senders) {
            (Some(from), _) => form.push(("From", from.to_owned())),
            (None, Senders::MessagingService(sid)) => {
                form.push(("MessagingServiceSid", sid.clone()));
            }
            (None, Senders::Numbers(numbers)) => form.push(("From", numbers[0].clone())),
        }
        match message.channel {
            Channel::Sms => form.push(("Body", message.body.to_owned())),
            Channel::Call => form.push(("Twiml", spoken_twice(message.body, message.lang))),
        }
        if let Some(callback) = message.status_callback {
            form.push(("StatusCallback", callback.to_owned()));
        }
        form
    }

    async fn post(&self, message: &Outgoing<'_>) -> Result<Accepted, Refusal> {
        let answer = self
            .http
            .post(self.endpoint(message.channel))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&self.form(message))
            .send()
            .await
            .map_err(|error| Refusal {
                // Not connected: the request never left, try again. Past
                // that, it may have been taken: never send it twice.
                kind: match error.is_connect() {
                    true => RefusalKind::Temporary,
                    false => RefusalKind::Unknown,
                },
                code: None,
                message: format!("Twilio unreachable: {error}"),
            })?;
        let status = answer.status();
        let body = answer.bytes().await.unwrap_or_default();
        if status.is_success() {
            let created: Created = serde_json::from_slice(&body).map_err(|error| Refusal {
                kind: RefusalKind::Temporary,
                code: None,
                message: format!("unreadable answer from Twilio: {error}"),
            })?;
            let state = read_status(&created.status).unwrap_or(State::Queued);
            return Ok(Accepted {
                provider_id: created.sid,
                state,
            });
        }
        let error: ApiError = serde_json::from_slice(&body).unwrap_or_default();
        let code = error.code.map(|code| code.to_string());
        let kind = match code.as_deref() {
            Some(code) => refusal_kind(code),
            None if status.as_u16() == 429 || status.is_server_error() => RefusalKind::Temporary,
            None => RefusalKind::Permanent,
        };
        Err(Refusal {
            kind,
            code: code.or_else(|| Some(status.as_u16().to_string())),
            message: error.message.unwrap_or_else(|| status.to_string()),
        })
    }
}

impl Provider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> SendFuture<'a> {
        Box::pin(self.post(message))
    }
}

/// A created message or call, as Twilio answers it.
#[derive(Deserialize)]
struct Created {
    sid: String,
    #[serde(default)]
    status: String,
}

/// Twilio's error answer.
#[derive(Default, Deserialize)]
struct ApiError {
    code: Option<u32>,
    message: Option<String>,
}

/// What a Twilio error code means for the message. Unknown codes are
/// permanent: a retry would be refused the same way.
pub fn refusal_kind(code: &str) -> RefusalKind {
    match code {
        // Too many requests; the account's queue is full.
        "20429" | "30001" => RefusalKind::Temporary,
        // The recipient replied STOP at the carrier.
        "21610" => RefusalKind::OptedOut,
        _ => RefusalKind::Permanent,
    }
}

/// A message's or a call's status as Twilio writes it (`MessageStatus`,
/// `CallStatus`). `None` for statuses that say nothing new (`accepted`,
/// `scheduled`, `read`...).
pub fn read_status(status: &str) -> Option<State> {
    Some(match status {
        "queued" => State::Queued,
        "sending" | "ringing" | "in-progress" => State::Sending,
        "sent" => State::Sent,
        // A call answered was heard: delivered.
        "delivered" | "completed" => State::Delivered,
        "undelivered" | "busy" | "no-answer" => State::Undelivered,
        "failed" | "canceled" => State::Failed,
        _ => return None,
    })
}

/// What a call says: the message, twice, in the occupant's language, so
/// that one who picks up late still hears it whole.
pub fn spoken_twice(body: &str, lang: Lang) -> String {
    let language = match lang {
        Lang::Fr => "fr-CA",
        Lang::En => "en-CA",
    };
    let said = quick_xml::escape::escape(body);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
         <Say language=\"{language}\">{said}</Say><Pause length=\"1\"/>\
         <Say language=\"{language}\">{said}</Say></Response>"
    )
}

/// `X-Twilio-Signature` for a request Twilio posts to `url` with these
/// form fields: HMAC-SHA1, keyed with the auth token, over the full URL
/// followed by each field's name and value, sorted by name; base64.
pub fn signature(auth_token: &str, url: &str, fields: &[(String, String)]) -> String {
    STANDARD.encode(mac(auth_token, url, fields).finalize().into_bytes())
}

/// Whether `header` is the signature of this request (compared in
/// constant time).
pub fn verify(auth_token: &str, url: &str, fields: &[(String, String)], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else {
        return false;
    };
    mac(auth_token, url, fields).verify_slice(&given).is_ok()
}

fn mac(auth_token: &str, url: &str, fields: &[(String, String)]) -> hmac::Hmac<sha1::Sha1> {
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort();
    let mut mac = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Checked against an independent implementation (Python's `hmac`,
    /// `hashlib.sha1`, `base64`), Twilio's algorithm as documented:
    /// `base64(hmac_sha1(token, url + "".join(k + v for k, v in
    /// sorted(params.items()))))`.
    #[test]
    fn signs_as_twilio_documents_it() {
        let params = fields(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+14158675310"),
            ("Digits", "1234"),
            ("Caller", "+14158675310"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(signature("12345", url, &params), EXPECTED);
        assert!(verify("12345", url, &params, EXPECTED));
        assert!(!verify("12346", url, &params, EXPECTED));
        assert!(!verify(
            "12345",
            "https://mycompany.com/other",
            &params,
            EXPECTED
        ));
        let mut changed = params.clone();
        changed[3].1 = "1235".to_owned();
        assert!(!verify("12345", url, &changed, EXPECTED));
        assert!(!verify("12345", url, &params, "not base64!"));
        assert!(!verify("12345", url, &params, ""));
    }

    /// What Twilio's security documentation gives for this request, and
    /// what Python's `hmac` computes for it.
    const EXPECTED: &str = "GvWf1cFY/Q7PnoempGyD5oXAezc=";

    /// Against a loopback double of Twilio's API: the form posted, Basic
    /// auth, and each kind of answer read the way it means.
    #[tokio::test]
    async fn posts_forms_and_reads_each_answer() {
        use wiremock::matchers::{body_string_contains, header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let double = MockServer::start().await;
        let auth = format!("Basic {}", STANDARD.encode("AC123:secret"));
        let messages = "/2010-04-01/Accounts/AC123/Messages.json";
        let answer = |to: &str, response: ResponseTemplate| {
            Mock::given(method("POST"))
                .and(path(messages))
                .and(header("authorization", auth.as_str()))
                .and(body_string_contains(format!("To=%2B1418555{to}")))
                .respond_with(response)
        };
        let created = serde_json::json!({"sid": "SM0001", "status": "queued"});
        answer("0101", ResponseTemplate::new(201).set_body_json(created))
            .mount(&double)
            .await;
        let invalid = serde_json::json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400});
        answer("0102", ResponseTemplate::new(400).set_body_json(invalid))
            .mount(&double)
            .await;
        answer("0103", ResponseTemplate::new(429))
            .mount(&double)
            .await;
        let call = serde_json::json!({"sid": "CA0001", "status": "queued"});
        Mock::given(method("POST"))
            .and(path("/2010-04-01/Accounts/AC123/Calls.json"))
            .and(body_string_contains("Twiml=%3C%3Fxml"))
            .and(body_string_contains("From=%2B15815550000"))
            .respond_with(ResponseTemplate::new(201).set_body_json(call))
            .mount(&double)
            .await;

        let numbers = Senders::Numbers(vec!["+15815550000".to_owned()]);
        let twilio = Twilio::new(
            &double.uri(),
            "AC123",
            "secret",
            numbers,
            Duration::from_secs(5),
        )
        .unwrap();
        let message = |to: &'static str, channel| Outgoing {
            channel,
            to,
            from: None,
            body: "Déneigement de votre rue demain à 7 h.",
            lang: Lang::Fr,
            status_callback: Some("https://flokon.example/twilio/status"),
        };
        let sms = message("+14185550101", Channel::Sms);
        assert_eq!(
            twilio.send(&sms).await,
            Ok(Accepted {
                provider_id: "SM0001".to_owned(),
                state: State::Queued
            })
        );
        let refused = twilio
            .send(&message("+14185550102", Channel::Sms))
            .await
            .unwrap_err();
        assert_eq!(
            (refused.kind, refused.code.as_deref()),
            (RefusalKind::Permanent, Some("21211"))
        );
        let throttled = twilio
            .send(&message("+14185550103", Channel::Sms))
            .await
            .unwrap_err();
        assert_eq!(
            (throttled.kind, throttled.code.as_deref()),
            (RefusalKind::Temporary, Some("429"))
        );
        let called = twilio
            .send(&message("+14185550104", Channel::Call))
            .await
            .unwrap();
        assert_eq!(called.provider_id, "CA0001");
    }

    #[test]
    fn reads_statuses_and_codes() {
        assert_eq!(read_status("delivered"), Some(State::Delivered));
        assert_eq!(read_status("completed"), Some(State::Delivered));
        assert_eq!(read_status("no-answer"), Some(State::Undelivered));
        assert_eq!(read_status("ringing"), Some(State::Sending));
        assert_eq!(read_status("accepted"), None);
        assert_eq!(refusal_kind("30001"), RefusalKind::Temporary);
        assert_eq!(refusal_kind("20429"), RefusalKind::Temporary);
        assert_eq!(refusal_kind("21610"), RefusalKind::OptedOut);
        assert_eq!(refusal_kind("21211"), RefusalKind::Permanent);
        assert_eq!(refusal_kind("30006"), RefusalKind::Permanent);
    }

    #[test]
    fn a_call_says_the_message_twice_escaped_in_its_language() {
        let twiml = spoken_twice("Rue <Principale> & 1re avenue", Lang::Fr);
        assert_eq!(twiml.matches("<Say language=\"fr-CA\">").count(), 2);
        assert_eq!(
            twiml
                .matches("Rue &lt;Principale&gt; &amp; 1re avenue</Say>")
                .count(),
            2
        );
        assert!(spoken_twice("x", Lang::En).contains("en-CA"));
    }
}
