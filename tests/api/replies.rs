//! Residents' replies (`POST /twilio/inbound`, signed as Twilio signs):
//! an opt-out keyword unsubscribes the phone (every occupant with it,
//! imports notwithstanding), an opt-in word subscribes it again, a help
//! word is answered in its language; a forged reply changes nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::alerts::{
    NOON_IN_QUEBEC, Signed, alert, alert_app, end, post_signed, sector_with, settled, start,
    through,
};
use crate::helpers::{TestApp, TwilioDouble, mode, nodes};

pub async fn reply(app: &TestApp, twilio: &TwilioDouble, from: &str, body: &str) -> (u16, String) {
    let fields = [
        ("MessageSid", "SM00000000000000000000000000000009"),
        ("From", from),
        ("To", "+15145550001"),
        ("Body", body),
    ];
    post_signed(app, twilio, "/twilio/inbound", &fields, Signed::Right).await
}

/// Each message's (to, status, skipReason) of the alert started now.
pub async fn next_alert(app: &TestApp, sector: &str) -> Vec<(String, String, Value)> {
    end(app, sector).await;
    let id = start(app, sector).await;
    let mut done = alert(app, &id).await;
    for _ in 0..200 {
        if settled(&done) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        done = alert(app, &id).await;
    }
    let mut rows: Vec<(String, String, Value)> = nodes(&done["messages"])
        .map(|m| {
            (
                m["to"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
                m["skipReason"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[tokio::test]
async fn stop_unsubscribes_every_occupant_with_the_phone_and_start_brings_it_back() {
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    app.data(
        "mutation { updateAlertSettings(input: {oncePerDay: false}) { oncePerDay } }",
        json!({}),
    )
    .await;
    // 418-555-0110 is the phone of two occupants, of two clients.
    let sector = sector_with(
        &app,
        &[
            ("418-555-0110", "SMS"),
            ("418-555-0110", "appel"),
            ("418-555-0111", "SMS"),
        ],
    )
    .await;

    let (status, twiml) = reply(&app, &twilio, "+14185550110", " Arrêt. ").await;
    assert_eq!(status, 200);
    assert!(
        twiml.contains("<Message>Déneigement Test : vous ne recevrez plus"),
        "{twiml}"
    );
    let skipped = next_alert(&app, &sector).await;
    assert_eq!(
        skipped,
        [
            (
                "+14185550110".to_owned(),
                "SKIPPED".to_owned(),
                json!("OPTED_OUT")
            ),
            (
                "+14185550111".to_owned(),
                "DELIVERED".to_owned(),
                Value::Null
            ),
        ]
    );

    // A re-import of the same occupants keeps the opt-out: it follows the phone.
    let file = crate::alerts::recipients_file(&[("418-555-0110", "SMS")]);
    app.import("alerte.xlsx", file, mode("REPLACE_ALL")).await;
    let still = next_alert(&app, &sector).await;
    assert_eq!(still[0].2, json!("OPTED_OUT"));

    let (_, twiml) = reply(&app, &twilio, "+14185550110", "START").await;
    assert!(twiml.contains("alerts are back on"), "{twiml}");
    let back = next_alert(&app, &sector).await;
    assert_eq!(
        back[0],
        (
            "+14185550110".to_owned(),
            "DELIVERED".to_owned(),
            Value::Null
        )
    );
}

#[tokio::test]
async fn help_is_answered_in_its_language_and_other_text_changes_nothing() {
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    let (_, aide) = reply(&app, &twilio, "+14185550110", "aide").await;
    assert_eq!(
        aide,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Flokon : alertes de déneigement par SMS. \
         Répondez ARRET pour vous désabonner, OUI pour vous réabonner.</Message></Response>"
    );
    let (_, help) = reply(&app, &twilio, "+14185550110", "HELP").await;
    assert!(
        help.contains("<Message>Flokon: snow removal alerts by SMS. Reply STOP"),
        "{help}"
    );
    let (status, other) = reply(&app, &twilio, "+14185550110", "Merci, je déplace mon auto").await;
    assert_eq!(
        (status, other.as_str()),
        (
            200,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"
        )
    );
}

#[tokio::test]
async fn a_forged_reply_is_refused_and_changes_nothing() {
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    let sector = sector_with(&app, &[("418-555-0110", "SMS")]).await;
    let fields = [
        ("From", "+14185550110"),
        ("To", "+15145550001"),
        ("Body", "STOP"),
    ];
    for signed in [Signed::Wrong, Signed::Not] {
        let (status, _) = post_signed(&app, &twilio, "/twilio/inbound", &fields, signed).await;
        assert_eq!(status, 403);
    }
    let sent = next_alert(&app, &sector).await;
    assert_eq!(
        sent[0],
        (
            "+14185550110".to_owned(),
            "DELIVERED".to_owned(),
            Value::Null
        )
    );
}
