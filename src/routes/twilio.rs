//! Twilio's requests: status callbacks (`POST /twilio/status`) and
//! residents' replies (`POST /twilio/inbound`). Nothing is read before the
//! `X-Twilio-Signature` is verified (HMAC-SHA1, keyed with the auth token,
//! over the public URL Twilio posted to and the sorted form fields); a
//! missing or wrong one is 403 and changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::config::SmsProvider;
use crate::error::{ApiError, Message};
use crate::messaging::twilio;
use crate::service::alerts::inbound;
use crate::service::alerts::sending::{self, Callback};

/// How long a callback naming an id not written down yet waits for it:
/// 100 × 50 ms, under Twilio's 15 s for a callback.
const UNKNOWN_ID_TRIES: usize = 100;
const UNKNOWN_ID_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// The form fields of a request Twilio signed; 404 when Twilio is not the
/// provider, 403 when the signature is missing or wrong.
fn signed_fields(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let alerts = &state.config.alerts;
    let public_url = match (&alerts.sms_provider, &alerts.public_url) {
        (SmsProvider::Twilio, Some(url)) => url.trim_end_matches('/'),
        _ => return Err(ApiError::NotFound),
    };
    // The URL as Twilio posted to it: the public address, this path and
    // the query string, if any.
    let url = match uri.query() {
        Some(query) => format!("{public_url}{}?{query}", uri.path()),
        None => format!("{public_url}{}", uri.path()),
    };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !twilio::verify(&alerts.twilio_auth_token, &url, &fields, signature) {
        return Err(ApiError::Forbidden(Message::new(
            "Signature X-Twilio-Signature absente ou invalide.",
            "Missing or invalid X-Twilio-Signature.",
        )));
    }
    Ok(fields)
}

fn field<'a>(fields: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    fields
        .iter()
        .find(|(name, _)| names.contains(&name.as_str()))
        .map(|(_, value)| value.as_str())
}

/// A message's or a call's new status: the message named moves forward.
pub async fn status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fields = signed_fields(&state, &uri, &headers, &body)?;
    let reported = field(&fields, &["MessageStatus", "CallStatus"]).and_then(twilio::read_status);
    if let (Some(sid), Some(state_now)) = (field(&fields, &["MessageSid", "CallSid"]), reported) {
        let code = field(&fields, &["ErrorCode"]).filter(|code| !code.is_empty());
        // The provider may call back before its answer to our request is
        // written down: while such an answer is pending, wait for it (within
        // the provider's own patience for a callback).
        for _ in 0..UNKNOWN_ID_TRIES {
            let now = state.config.alerts.clock.now();
            let applied = sending::on_status(&state.db, sid, state_now, code, now).await?;
            if applied != Callback::Unknown || !sending::answer_pending(&state.db).await? {
                break;
            }
            tokio::time::sleep(UNKNOWN_ID_PAUSE).await;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A resident's reply: STOP, ARRET... unsubscribe the phone, START or OUI
/// subscribe it again, HELP or AIDE are answered (TwiML `<Message>`).
pub async fn inbound(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fields = signed_fields(&state, &uri, &headers, &body)?;
    let from = field(&fields, &["From"]).unwrap_or("");
    let text = field(&fields, &["Body"]).unwrap_or("");
    let now = state.config.alerts.clock.now();
    let handled = inbound::on_reply(&state.db, from, text, now).await?;
    let answer = match handled.answer {
        Some(text) => format!(
            "<Message>{}</Message>",
            quick_xml::escape::escape(text.as_str())
        ),
        None => String::new(),
    };
    let twiml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{answer}</Response>");
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], twiml).into_response())
}
