//! Our Twilio client against the loopback double of Twilio's API
//! (`helpers::twilio`): what each number's outcome comes back as, and the
//! status callbacks, each signed the way our check verifies. The ground
//! the alert dispatch (issue 21) stands on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::routing::post;
use flokon_api::domain::Lang;
use flokon_api::messaging::twilio::{Senders, Twilio, read_status, verify};
use flokon_api::messaging::{Channel, Outgoing, Provider, RefusalKind, State as Sent};

use crate::helpers::TwilioDouble;

type Received = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A server that keeps every callback: its form fields and signature.
async fn callback_receiver() -> (String, Received) {
    async fn keep(
        State(received): State<Received>,
        headers: HeaderMap,
        Form(fields): Form<Vec<(String, String)>>,
    ) {
        let signature = headers
            .get("X-Twilio-Signature")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        received.lock().unwrap().push((fields, signature));
    }
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/twilio/status", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/twilio/status", post(keep))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn each_outcome_of_the_twilio_double_reads_as_it_means_with_signed_callbacks() {
    let double = TwilioDouble::start(Duration::from_millis(20)).await;
    let (callback, received) = callback_receiver().await;
    let twilio = Twilio::new(
        &double.base,
        &double.account_sid,
        &double.auth_token,
        Senders::Numbers(vec!["+15815550000".to_owned()]),
        Duration::from_secs(5),
    )
    .unwrap();
    let send = |to: &'static str, channel| {
        let (twilio, callback) = (&twilio, callback.as_str());
        async move {
            let message = Outgoing {
                channel,
                to,
                from: None,
                body: "Déneigement de votre rue demain dès 7 h.",
                lang: Lang::Fr,
                status_callback: Some(callback),
            };
            twilio.send(&message).await
        }
    };

    let delivered = send("+14185550100", Channel::Sms).await.unwrap();
    let unreachable = send("+14185550101", Channel::Sms).await.unwrap();
    let invalid = send("+14185550102", Channel::Sms).await.unwrap_err();
    let unsubscribed = send("+14185550103", Channel::Sms).await.unwrap_err();
    let landline = send("+14185550104", Channel::Sms).await.unwrap();
    let throttled = send("+14185550105", Channel::Sms).await.unwrap_err();
    let retried = send("+14185550105", Channel::Sms).await.unwrap();
    let called = send("+14185550107", Channel::Call).await.unwrap();

    assert_eq!(
        (invalid.kind, invalid.code.as_deref()),
        (RefusalKind::Permanent, Some("21211"))
    );
    assert_eq!(
        (unsubscribed.kind, unsubscribed.code.as_deref()),
        (RefusalKind::OptedOut, Some("21610"))
    );
    assert_eq!(
        (throttled.kind, throttled.code.as_deref()),
        (RefusalKind::Temporary, Some("20429"))
    );
    assert!(called.provider_id.starts_with("CA"), "{called:?}");
    // What was posted: the sender, the body or the call's TwiML, the
    // callback, and nothing for the numbers refused before a SID.
    let posted = double.posted();
    assert_eq!(posted.len(), 8);
    assert_eq!(posted[0].form["From"], "+15815550000");
    assert_eq!(posted[0].form["StatusCallback"], callback);
    assert_eq!(posted[7].resource, "Calls");
    assert_eq!(posted[7].form["Twiml"].matches("fr-CA").count(), 2);

    // The callbacks: 2 for each of the delivered, unreachable, retried
    // and called ones, 1 for the landline.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < 9 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 9);
    for (fields, signature) in &received {
        assert!(
            verify(&double.auth_token, &callback, fields, signature),
            "{fields:?}"
        );
        assert!(!verify("another-token", &callback, fields, signature));
    }
    // The last word on each, read as our states.
    let last = |sid: &str| {
        received
            .iter()
            .rfind(|(fields, _)| {
                field(fields, "MessageSid").or(field(fields, "CallSid")) == Some(sid)
            })
            .map(|(fields, _)| {
                let status = field(fields, "MessageStatus").or(field(fields, "CallStatus"));
                (
                    status.and_then(read_status),
                    field(fields, "ErrorCode").map(str::to_owned),
                )
            })
            .unwrap()
    };
    assert_eq!(last(&delivered.provider_id), (Some(Sent::Delivered), None));
    assert_eq!(
        last(&unreachable.provider_id),
        (Some(Sent::Undelivered), Some("30003".to_owned()))
    );
    assert_eq!(
        last(&landline.provider_id),
        (Some(Sent::Undelivered), Some("30006".to_owned()))
    );
    assert_eq!(last(&retried.provider_id), (Some(Sent::Delivered), None));
    assert_eq!(last(&called.provider_id), (Some(Sent::Delivered), None));
}
