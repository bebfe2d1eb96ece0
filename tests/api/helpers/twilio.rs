//! A loopback double of Twilio's REST API: `Messages.json` and
//! `Calls.json` with Basic auth, answering with SIDs, then posting signed
//! status callbacks after a delay. The outcome is chosen by the last two
//! digits of the number called:
//!
//! | `To` ends in | outcome |
//! | --- | --- |
//! | `01` | accepted, then `undelivered` with error 30003 (unreachable) |
//! | `02` | refused at once: 400, code 21211 (invalid number) |
//! | `03` | refused at once: 400, code 21610 (unsubscribed) |
//! | `04` | accepted, then `undelivered` with error 30006 (landline) |
//! | `05` | 429 (code 20429) the first time, accepted the next |
//! | `06` | never answers (the request hangs: a call cut short by a crash) |
//! | anything else | accepted, then `sent` and `delivered` (`completed` for a call) |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::json;

/// One request the double took, as posted.
#[derive(Clone, Debug)]
pub struct Posted {
    /// `Messages` or `Calls`.
    pub resource: String,
    pub form: HashMap<String, String>,
    /// When it came in.
    pub at: std::time::Instant,
}

pub struct TwilioDouble {
    pub base: String,
    pub account_sid: String,
    pub auth_token: String,
    posted: Arc<Mutex<Vec<Posted>>>,
}

#[derive(Clone)]
struct Double {
    account_sid: String,
    auth_token: String,
    delay: Duration,
    posted: Arc<Mutex<Vec<Posted>>>,
    /// Numbers already throttled once (`…05`).
    throttled: Arc<Mutex<Vec<String>>>,
}

impl TwilioDouble {
    /// Serves on a free loopback port; callbacks leave `delay` after the
    /// answer.
    pub async fn start(delay: Duration) -> TwilioDouble {
        let double = Double {
            account_sid: "AC00000000000000000000000000000001".to_owned(),
            auth_token: "double-auth-token".to_owned(),
            delay,
            posted: Arc::default(),
            throttled: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/{resource}", post(create))
            .with_state(double.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        TwilioDouble {
            base,
            account_sid: double.account_sid,
            auth_token: double.auth_token,
            posted: double.posted,
        }
    }

    /// What was posted so far, in order.
    pub fn posted(&self) -> Vec<Posted> {
        self.posted.lock().unwrap().clone()
    }
}

async fn create(
    State(double): State<Double>,
    Path((sid, resource)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", double.account_sid, double.auth_token))
    );
    let authorized = headers
        .get("authorization")
        .is_some_and(|value| value.as_bytes() == expected.as_bytes());
    if sid != double.account_sid || !authorized {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let resource = resource.trim_end_matches(".json").to_owned();
    let to = form.get("To").cloned().unwrap_or_default();
    double.posted.lock().unwrap().push(Posted {
        resource: resource.clone(),
        form: form.clone(),
        at: std::time::Instant::now(),
    });
    let ending = &to[to.len().saturating_sub(2)..];
    match ending {
        "06" => std::future::pending::<()>().await,
        "02" => return error(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number"),
        "03" => {
            return error(
                StatusCode::BAD_REQUEST,
                21610,
                "Attempt to send to unsubscribed recipient",
            );
        }
        "05" => {
            let mut throttled = double.throttled.lock().unwrap();
            if !throttled.contains(&to) {
                throttled.push(to.clone());
                return error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
            }
        }
        _ => {}
    }
    let call = resource == "Calls";
    let sid = format!(
        "{}{}",
        if call { "CA" } else { "SM" },
        uuid::Uuid::new_v4().simple()
    );
    let statuses: Vec<(&str, Option<&str>)> = match (ending, call) {
        ("01", _) => vec![("sent", None), ("undelivered", Some("30003"))],
        ("04", _) => vec![("undelivered", Some("30006"))],
        (_, true) => vec![("ringing", None), ("completed", None)],
        (_, false) => vec![("sent", None), ("delivered", None)],
    };
    if let Some(callback) = form.get("StatusCallback").cloned() {
        let statuses: Vec<(String, Option<String>)> = statuses
            .into_iter()
            .map(|(status, code)| (status.to_owned(), code.map(str::to_owned)))
            .collect();
        tokio::spawn(post_callbacks(
            double.clone(),
            callback,
            sid.clone(),
            call,
            form,
            statuses,
        ));
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"sid": sid, "status": "queued", "to": to})),
    )
        .into_response()
}

/// Posts each status to the callback, signed as Twilio signs them.
async fn post_callbacks(
    double: Double,
    url: String,
    sid: String,
    call: bool,
    form: HashMap<String, String>,
    statuses: Vec<(String, Option<String>)>,
) {
    let http = reqwest::Client::new();
    let (sid_field, status_field) = match call {
        true => ("CallSid", "CallStatus"),
        false => ("MessageSid", "MessageStatus"),
    };
    for (status, code) in statuses {
        tokio::time::sleep(double.delay).await;
        let mut fields = vec![
            (sid_field.to_owned(), sid.clone()),
            (status_field.to_owned(), status),
            ("AccountSid".to_owned(), double.account_sid.clone()),
            ("To".to_owned(), form.get("To").cloned().unwrap_or_default()),
        ];
        if let Some(code) = code {
            fields.push(("ErrorCode".to_owned(), code));
        }
        let signature = flokon_api::messaging::twilio::signature(&double.auth_token, &url, &fields);
        let _ = http
            .post(&url)
            .header("X-Twilio-Signature", signature)
            .form(&fields)
            .send()
            .await;
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "status": status.as_u16()});
    (status, axum::Json(body)).into_response()
}
