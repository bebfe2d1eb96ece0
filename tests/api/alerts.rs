//! Alert dispatch through the real API: a sector in alert gets one message
//! per phone, sent by the worker through the provider (the log provider,
//! or a loopback double of Twilio speaking its protocol, signatures
//! included), with the organization's rules (sending hours in Quebec's
//! clock, once a day, alerts off, a monthly budget) and what the
//! contractor reads: counts, messages, the messages to one phone.

use std::time::Duration;

use flokon_api::config::{ServeConfig, SmsProvider};
use flokon_api::domain::Clock;
use serde_json::{Value, json};

use crate::fixtures::{N, T, V, xlsx};
use crate::helpers::{
    TestApp, TwilioDouble, error_codes, error_reason, fresh_postgres_url, keep, nodes,
    spawn_app_with,
};
use crate::instances::{Instance, import_at, new_org};
use crate::webhooks::{Receiver, create_endpoint};

/// Noon in Quebec (EDT, UTC−4): within the default sending hours.
pub const NOON_IN_QUEBEC: &str = "2026-07-15T16:00:00Z";

/// A server whose alerts go by a clock set to `at`, its worker looking
/// for messages every 50 ms.
pub async fn alert_app(at: &str, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let at = at.parse().unwrap();
    spawn_app_with(|config| {
        config.alerts.clock = Clock::starting_at(at);
        // Messages are written at this clock's time, months before the
        // real one, and the retention pass (at start, on the real clock)
        // erased their phones and bodies whenever it reached them after
        // they settled: it keeps ten years here.
        config.jobs.import_retention_days = 3650;
        config.alerts.dispatch_worker_interval = Duration::from_millis(50);
        configure(config);
    })
    .await
}

/// Sends through `twilio` with no rate limit and callbacks to this
/// server (its port chosen here, so that `PUBLIC_URL` knows it).
pub fn through(twilio: &TwilioDouble) -> impl FnOnce(&mut ServeConfig) + '_ {
    move |config| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        config.bind_addr = format!("127.0.0.1:{port}");
        config.alerts.sms_provider = SmsProvider::Twilio;
        config.alerts.twilio_base_url = twilio.base.clone();
        config.alerts.twilio_account_sid = twilio.account_sid.clone();
        config.alerts.twilio_auth_token = twilio.auth_token.clone();
        config.alerts.twilio_from = vec!["+15145550001".to_owned()];
        config.alerts.public_url = Some(format!("http://127.0.0.1:{port}"));
        config.alerts.sms_rate = 0.0;
        config.alerts.sms_timeout = Duration::from_secs(5);
        config.alerts.sms_retry_delays = vec![Duration::from_millis(200)];
    }
}

/// The sector the tests draw: it holds (46.85, -71.25).
pub fn square() -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [-71.3, 46.8], [-71.2, 46.8], [-71.2, 46.9], [-71.3, 46.9], [-71.3, 46.8]
    ]]})
}

/// A spreadsheet of one point at (46.85, -71.25) per phone, each its own
/// client, with one occupant reached by `method`.
pub fn recipients_file(phones: &[(&str, &str)]) -> Vec<u8> {
    let mut rows = vec![vec![
        T("Téléphone"),
        T("SMS/Appel"),
        T("Adresse"),
        T("Identifiant du client"),
        T("Latitude"),
        T("Longitude"),
    ]];
    for (i, (phone, method)) in phones.iter().enumerate() {
        rows.push(vec![
            V::S(phone.to_string()),
            V::S(method.to_string()),
            V::S(format!("{} rue Principale, Québec", i + 1)),
            V::S(format!("C-{i:03}")),
            N(46.85),
            N(-71.25),
        ]);
    }
    xlsx(&rows)
}

/// A sector holding one point per phone (each its own client), with one
/// occupant reached by `method`: the sector's id.
pub async fn sector_with(app: &TestApp, phones: &[(&str, &str)]) -> String {
    let data = app
        .data(
            "mutation($input: SectorInput!) { createSector(input: $input) { id } }",
            json!({"input": {"name": "Rue Principale", "geometry": square()}}),
        )
        .await;
    app.import("alerte.xlsx", recipients_file(phones), keep())
        .await;
    data["createSector"]["id"].as_str().unwrap().to_owned()
}

/// Starts the sector's alert: the alert's id.
pub async fn start(app: &TestApp, sector: &str) -> String {
    let data = app
        .data(
            "mutation($id: ID!) { startSectorAlert(id: $id) { id } }",
            json!({"id": sector}),
        )
        .await;
    data["startSectorAlert"]["id"].as_str().unwrap().to_owned()
}

pub async fn end(app: &TestApp, sector: &str) {
    app.data(
        "mutation($id: ID!) { setSectorAlert(id: $id, active: false) { alertActive } }",
        json!({"id": sector}),
    )
    .await;
}

const ALERT: &str = "query($id: ID!) { alert(id: $id) {
    recipientsCount lastMessageExpectedAt
    counts { total scheduled queued sending sent delivered undelivered failed skipped canceled }
    messages(first: 500) { edges { node {
        to channel status skipReason errorCode attempts providerId body encoding segments scheduledFor
    } } }
} }";

pub async fn alert(app: &TestApp, id: &str) -> Value {
    app.data(ALERT, json!({"id": id})).await["alert"].clone()
}

/// The alert once `done` holds for it (within 20 s).
pub async fn alert_when(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let alert = alert(app, id).await;
        if done(&alert) {
            return alert;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("alert never reached the state: {:#}", alert(app, id).await);
}

/// Whether none of the alert's messages is still in our hands or on its
/// way (every one delivered, undelivered, failed, skipped or canceled).
pub fn settled(alert: &Value) -> bool {
    let c = &alert["counts"];
    ["scheduled", "queued", "sending", "sent"]
        .iter()
        .all(|status| c[status] == 0)
}

/// Each message's `field`s, by phone.
fn by_phone(alert: &Value, fields: &[&str]) -> Value {
    let mut rows: Vec<Value> = nodes(&alert["messages"])
        .map(|m| {
            let mut row = json!({"to": m["to"]});
            for field in fields {
                row[*field] = m[*field].clone();
            }
            row
        })
        .collect();
    rows.sort_by_key(|r| r["to"].as_str().unwrap().to_owned());
    Value::Array(rows)
}

fn counts(pairs: &[(&str, i64)]) -> Value {
    let mut counts = json!({
        "total": 0, "scheduled": 0, "queued": 0, "sending": 0, "sent": 0, "delivered": 0,
        "undelivered": 0, "failed": 0, "skipped": 0, "canceled": 0
    });
    for (status, n) in pairs {
        counts[*status] = json!(n);
    }
    counts
}

#[tokio::test]
async fn fifty_occupants_in_alert_get_one_message_per_phone() {
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    let phones: Vec<String> = (0..50)
        .map(|i| format!("418-555-{:04}", 1010 + i))
        .collect();
    let mut occupants: Vec<(&str, &str)> = phones.iter().map(|p| (p.as_str(), "SMS")).collect();
    // An apartment's second tenant shares the first one's phone, by call.
    occupants.push((phones[0].as_str(), "appel"));
    let sector = sector_with(&app, &occupants).await;

    let id = start(&app, &sector).await;
    let done = alert_when(&app, &id, |a| a["counts"]["delivered"] == 50).await;

    assert_eq!(done["recipientsCount"], 51);
    assert_eq!(done["counts"], counts(&[("total", 50), ("delivered", 50)]));
    assert_eq!(done["lastMessageExpectedAt"], Value::Null);
    // One request to the provider per phone: 49 SMS and the shared phone's
    // call (an SMS and a call asked for it: the call reaches a landline too).
    let posted = twilio.posted();
    assert_eq!(posted.len(), 50);
    let calls: Vec<&str> = posted
        .iter()
        .filter(|p| p.resource == "Calls")
        .map(|p| p.form["To"].as_str())
        .collect();
    assert_eq!(calls, ["+14185551010"]);
    let messages: Vec<&Value> = nodes(&done["messages"]).collect();
    let shared = messages.iter().find(|m| m["to"] == "+14185551010").unwrap();
    assert_eq!(
        (&shared["channel"], &shared["segments"]),
        (&json!("CALL"), &Value::Null)
    );
    let sms = messages.iter().find(|m| m["to"] == "+14185551011").unwrap();
    assert_eq!(
        sms["body"],
        "Déneigement Test : le déneigement de votre rue (Rue Principale) commence sous peu. \
         Libérez la voie SVP. ARRET pour vous désabonner."
    );
    assert_eq!(
        (&sms["encoding"], &sms["segments"]),
        (&json!("GSM7"), &json!(1))
    );
    assert!(sms["providerId"].as_str().unwrap().starts_with("SM"));

    // Found again by phone, however it is written.
    let found = app
        .data(
            "{ alertMessages(phone: \"(418) 555-1011\") { totalCount edges { node { to status alert { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["alertMessages"],
        json!({"totalCount": 1, "edges": [{"node": {"to": "+14185551011", "status": "DELIVERED", "alert": {"id": id}}}]})
    );
}

#[tokio::test]
async fn the_log_provider_sends_nothing_and_counts_each_message_sent() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS"), ("418-555-0101", "appel")]).await;
    let id = start(&app, &sector).await;
    let done = alert_when(&app, &id, |a| a["counts"]["sent"] == 2).await;
    assert_eq!(done["counts"], counts(&[("total", 2), ("sent", 2)]));
    assert!(
        nodes(&done["messages"]).all(|m| m["providerId"].as_str().unwrap().starts_with("log-"))
    );
}

#[tokio::test]
async fn the_providers_answers_are_read_as_they_mean() {
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    let sector = sector_with(
        &app,
        &[
            ("418-555-0100", "SMS"),
            ("418-555-0101", "SMS"),
            ("418-555-0102", "SMS"),
            ("418-555-0103", "SMS"),
            ("418-555-0104", "SMS"),
            ("418-555-0105", "SMS"),
            ("418-555-0107", "appel"),
        ],
    )
    .await;

    let id = start(&app, &sector).await;
    let done = alert_when(&app, &id, |a| settled(a) && a["counts"]["total"] == 7).await;

    assert_eq!(
        by_phone(&done, &["channel", "status", "errorCode", "attempts"]),
        json!([
            {"to": "+14185550100", "channel": "SMS", "status": "DELIVERED", "errorCode": null, "attempts": 1},
            {"to": "+14185550101", "channel": "SMS", "status": "UNDELIVERED", "errorCode": "30003", "attempts": 1},
            {"to": "+14185550102", "channel": "SMS", "status": "FAILED", "errorCode": "21211", "attempts": 1},
            {"to": "+14185550103", "channel": "SMS", "status": "FAILED", "errorCode": "21610", "attempts": 1},
            {"to": "+14185550104", "channel": "SMS", "status": "UNDELIVERED", "errorCode": "30006", "attempts": 1},
            // Throttled once (429), taken on the retry.
            {"to": "+14185550105", "channel": "SMS", "status": "DELIVERED", "errorCode": null, "attempts": 2},
            {"to": "+14185550107", "channel": "CALL", "status": "DELIVERED", "errorCode": null, "attempts": 1}
        ])
    );
    assert_eq!(
        done["counts"],
        counts(&[
            ("total", 7),
            ("delivered", 3),
            ("undelivered", 2),
            ("failed", 2)
        ])
    );

    // What Twilio was asked: SMS from the number with the callback URL; the
    // call said twice in French.
    let posted = twilio.posted();
    assert_eq!(posted.len(), 8);
    let callback = format!("{}/twilio/status", app.address);
    let sms = posted
        .iter()
        .find(|p| p.form["To"] == "+14185550100")
        .unwrap();
    assert_eq!(sms.resource, "Messages");
    assert_eq!(sms.form["From"], "+15145550001");
    assert_eq!(sms.form["StatusCallback"], callback);
    let call = posted
        .iter()
        .find(|p| p.form["To"] == "+14185550107")
        .unwrap();
    assert_eq!(call.resource, "Calls");
    assert_eq!(
        call.form["Twiml"]
            .matches("<Say language=\"fr-CA\">")
            .count(),
        2
    );

    // A late `sent`, properly signed, never overwrites `delivered`.
    let delivered = nodes(&done["messages"])
        .find(|m| m["to"] == "+14185550100")
        .unwrap()["providerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = [
        ("MessageSid", delivered.as_str()),
        ("MessageStatus", "sent"),
    ];
    assert_eq!(post_status(&app, &twilio, &late, Signed::Right).await, 204);
    let again = alert(&app, &id).await;
    assert_eq!(again["counts"], done["counts"]);

    // 21610 unsubscribed the phone: the next alert skips it.
    app.data(
        "mutation { updateAlertSettings(input: {oncePerDay: false}) { oncePerDay } }",
        json!({}),
    )
    .await;
    end(&app, &sector).await;
    let next = start(&app, &sector).await;
    let next = alert_when(&app, &next, |a| settled(a) && a["counts"]["total"] == 7).await;
    let skipped: Vec<Value> = nodes(&next["messages"])
        .filter(|m| m["status"] == "SKIPPED")
        .map(|m| json!({"to": m["to"], "skipReason": m["skipReason"]}))
        .collect();
    assert_eq!(
        skipped,
        [json!({"to": "+14185550103", "skipReason": "OPTED_OUT"})]
    );
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    Right,
    Wrong,
    Not,
}

/// Posts to `path` as Twilio would (or a forger): the HTTP status and the
/// answer's text.
pub async fn post_signed(
    app: &TestApp,
    twilio: &TwilioDouble,
    path: &str,
    fields: &[(&str, &str)],
    signed: Signed,
) -> (u16, String) {
    let url = format!("{}{path}", app.address);
    let owned: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut request = app.http.post(&url).form(&owned);
    let key = match signed {
        Signed::Right => Some(twilio.auth_token.as_str()),
        Signed::Wrong => Some("not-the-auth-token"),
        Signed::Not => None,
    };
    if let Some(key) = key {
        let signature = flokon_api::messaging::twilio::signature(key, &url, &owned);
        request = request.header("X-Twilio-Signature", signature);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

/// A status callback: its HTTP status.
async fn post_status(
    app: &TestApp,
    twilio: &TwilioDouble,
    fields: &[(&str, &str)],
    signed: Signed,
) -> u16 {
    post_signed(app, twilio, "/twilio/status", fields, signed)
        .await
        .0
}

#[tokio::test]
async fn a_forged_status_callback_is_refused_and_changes_nothing() {
    // Callbacks an hour away: the message stays with the provider.
    let twilio = TwilioDouble::start(Duration::from_secs(3600)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS")]).await;
    let id = start(&app, &sector).await;
    let taken = alert_when(&app, &id, |a| {
        nodes(&a["messages"]).all(|m| m["status"] == "SENDING" && m["providerId"].is_string())
    })
    .await;
    let sid = nodes(&taken["messages"]).next().unwrap()["providerId"]
        .as_str()
        .unwrap()
        .to_owned();

    let delivered = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
    assert_eq!(
        post_status(&app, &twilio, &delivered, Signed::Wrong).await,
        403
    );
    assert_eq!(
        post_status(&app, &twilio, &delivered, Signed::Not).await,
        403
    );
    assert_eq!(alert(&app, &id).await["counts"]["sending"], 1);

    assert_eq!(
        post_status(&app, &twilio, &delivered, Signed::Right).await,
        204
    );
    let after = alert(&app, &id).await;
    assert_eq!(after["counts"], counts(&[("total", 1), ("delivered", 1)]));
}

#[tokio::test]
async fn quiet_hours_hold_messages_until_they_open_and_ending_cancels_them() {
    // 19:59 in Quebec (EDT): it leaves at once.
    let app = alert_app("2026-07-15T23:59:00Z", |_| {}).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS")]).await;
    let id = start(&app, &sector).await;
    alert_when(&app, &id, |a| a["counts"]["sent"] == 1).await;

    // 20:01: it waits for 07:00 (11:00 UTC in summer), then the alert ends.
    let app = alert_app("2026-07-16T00:01:00Z", |_| {}).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS")]).await;
    let id = start(&app, &sector).await;
    let waiting = alert(&app, &id).await;
    assert_eq!(waiting["counts"], counts(&[("total", 1), ("scheduled", 1)]));
    assert_eq!(
        by_phone(&waiting, &["status", "scheduledFor"]),
        json!([{"to": "+14185550100", "status": "SCHEDULED", "scheduledFor": "2026-07-16T11:00:00+00:00"}])
    );
    assert_eq!(
        waiting["lastMessageExpectedAt"],
        "2026-07-16T11:00:00+00:00"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alert(&app, &id).await["counts"]["scheduled"], 1);
    end(&app, &sector).await;
    let ended = alert(&app, &id).await;
    assert_eq!(ended["counts"], counts(&[("total", 1), ("canceled", 1)]));
    assert_eq!(ended["lastMessageExpectedAt"], Value::Null);

    // Clock-change mornings: 05:30 the day clocks go back (EST from 06:00
    // UTC) opens at 12:00 UTC; the day they go forward (EDT from 07:00
    // UTC), at 11:00 UTC.
    for (now, opening) in [
        ("2026-11-01T10:30:00Z", "2026-11-01T12:00:00+00:00"),
        ("2026-03-08T09:30:00Z", "2026-03-08T11:00:00+00:00"),
    ] {
        let app = alert_app(now, |_| {}).await;
        let sector = sector_with(&app, &[("418-555-0100", "SMS")]).await;
        let id = start(&app, &sector).await;
        let waiting = alert(&app, &id).await;
        let message = nodes(&waiting["messages"]).next().unwrap().clone();
        assert_eq!(
            (&message["status"], &message["scheduledFor"]),
            (&json!("SCHEDULED"), &json!(opening)),
            "{now}"
        );
    }
}

const SETTINGS: &str = "mutation($input: AlertSettingsInput!) { updateAlertSettings(input: $input) {
    enabled sendFrom sendUntil timeZone oncePerDay requireConsent monthlySegmentLimit segmentsThisMonth
} }";

#[tokio::test]
async fn once_a_day_alerts_off_and_the_monthly_budget_skip_with_their_reason() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    let phones = [
        ("418-555-0100", "SMS"),
        ("418-555-0101", "SMS"),
        ("418-555-0102", "SMS"),
    ];
    let sector = sector_with(&app, &phones).await;
    let defaults = app
        .data("{ alertSettings { enabled sendFrom sendUntil timeZone oncePerDay requireConsent monthlySegmentLimit segmentsThisMonth } }", json!({}))
        .await;
    assert_eq!(
        defaults["alertSettings"],
        json!({"enabled": true, "sendFrom": "07:00", "sendUntil": "20:00", "timeZone": "America/Toronto",
               "oncePerDay": true, "requireConsent": false, "monthlySegmentLimit": null, "segmentsThisMonth": 0})
    );

    let first = start(&app, &sector).await;
    alert_when(&app, &first, |a| a["counts"]["sent"] == 3).await;
    end(&app, &sector).await;

    // The same day: each phone was told already.
    let second = start(&app, &sector).await;
    let second = alert(&app, &second).await;
    assert_eq!(second["counts"], counts(&[("total", 3), ("skipped", 3)]));
    assert!(nodes(&second["messages"]).all(|m| m["skipReason"] == "ALREADY_ALERTED_TODAY"));
    end(&app, &sector).await;

    // Alerts off: everyone skipped, for that reason.
    let off = app
        .data(
            SETTINGS,
            json!({"input": {"enabled": false, "oncePerDay": false}}),
        )
        .await;
    assert_eq!(off["updateAlertSettings"]["segmentsThisMonth"], 3);
    let third = start(&app, &sector).await;
    let third = alert(&app, &third).await;
    assert!(nodes(&third["messages"]).all(|m| m["skipReason"] == "ALERTS_DISABLED"));
    end(&app, &sector).await;

    // Three segments spent this month, four allowed: one more leaves.
    let limited = app
        .data(
            SETTINGS,
            json!({"input": {"enabled": true, "monthlySegmentLimit": 4}}),
        )
        .await;
    assert_eq!(limited["updateAlertSettings"]["monthlySegmentLimit"], 4);
    let fourth = start(&app, &sector).await;
    let fourth = alert_when(&app, &fourth, |a| a["counts"]["sent"] == 1).await;
    assert_eq!(
        fourth["counts"],
        counts(&[("total", 3), ("sent", 1), ("skipped", 2)])
    );
    assert_eq!(
        nodes(&fourth["messages"])
            .filter(|m| m["skipReason"] == "SPEND_LIMIT")
            .count(),
        2
    );
    let unlimited = app
        .data(SETTINGS, json!({"input": {"monthlySegmentLimit": null}}))
        .await;
    assert_eq!(
        (
            &unlimited["updateAlertSettings"]["monthlySegmentLimit"],
            &unlimited["updateAlertSettings"]["segmentsThisMonth"]
        ),
        (&Value::Null, &json!(4))
    );
}

#[tokio::test]
async fn invalid_settings_are_refused_and_change_nothing() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    for input in [
        json!({"sendFrom": "25:00"}),
        json!({"sendUntil": "8h"}),
        json!({"timeZone": "Quebec/Nowhere"}),
        json!({"monthlySegmentLimit": -1}),
    ] {
        let body = app.graphql(SETTINGS, json!({"input": input})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{input}");
        assert_eq!(error_reason(&body), "ALERT_SETTINGS_INVALID", "{input}");
    }
    let settings = app
        .data(
            "{ alertSettings { sendFrom sendUntil timeZone monthlySegmentLimit } }",
            json!({}),
        )
        .await;
    assert_eq!(
        settings["alertSettings"],
        json!({"sendFrom": "07:00", "sendUntil": "20:00", "timeZone": "America/Toronto", "monthlySegmentLimit": null})
    );
}

#[tokio::test]
async fn another_organizations_alerts_and_messages_stay_apart() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS")]).await;
    let id = start(&app, &sector).await;
    alert_when(&app, &id, |a| a["counts"]["sent"] == 1).await;
    let other = app.new_org("Autre").await;
    let body = app
        .graphql_as(
            Some(&other),
            "query($id: ID!) { alert(id: $id) { id } alertMessages { totalCount } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({"alert": null, "alertMessages": {"totalCount": 0}})
    );
}

#[tokio::test]
async fn a_failed_message_and_the_end_of_the_dispatch_are_announced() {
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let app = alert_app(NOON_IN_QUEBEC, |config| {
        through(&twilio)(config);
        config.webhooks.webhook_allow_private = true;
        config.webhooks.webhook_worker_interval = Duration::from_millis(50);
    })
    .await;
    let receiver = Receiver::start(0).await;
    let events = ["ALERT_MESSAGE_FAILED", "ALERT_DISPATCH_FINISHED"];
    create_endpoint(&app, &app.token, &receiver.url, &events).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS"), ("418-555-0102", "SMS")]).await;
    let id = start(&app, &sector).await;

    let received = receiver.wait_for(2).await;
    let mut bodies: Vec<Value> = received.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["type"].as_str().unwrap().to_owned());
    assert_eq!(bodies[0]["type"], "alert.dispatch.finished");
    assert_eq!(bodies[0]["data"]["alertId"], id);
    assert_eq!(bodies[0]["data"]["counts"]["total"], 2);
    assert_eq!(bodies[0]["data"]["counts"]["failed"], 1);
    assert_eq!(bodies[1]["type"], "alert.message.failed");
    let failed = &bodies[1]["data"];
    assert_eq!(
        (
            &failed["alertId"],
            &failed["to"],
            &failed["errorCode"],
            &failed["channel"]
        ),
        (
            &json!(id),
            &json!("+14185550102"),
            &json!("21211"),
            &json!("SMS")
        )
    );
    // Announced once each.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn retention_erases_bodies_and_phones_and_keeps_the_counts() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    let sector = sector_with(&app, &[("418-555-0100", "SMS")]).await;
    let id = start(&app, &sector).await;
    alert_when(&app, &id, |a| a["counts"]["sent"] == 1).await;

    let retention = flokon_api::worker::retention::Retention {
        days: 90,
        undo_window: Duration::from_secs(30 * 86_400),
        interval: Duration::from_secs(3600),
    };
    let pass = |days: i64| {
        // Days after the alert, on the clock it went by.
        let sent: chrono::DateTime<chrono::Utc> = NOON_IN_QUEBEC.parse().unwrap();
        let at = sent + chrono::Duration::days(days);
        flokon_api::worker::retention::pass(&app.db, retention, at)
    };
    assert_eq!(pass(89).await.unwrap().messages, 0);
    assert_eq!(pass(91).await.unwrap().messages, 1);
    let kept = alert(&app, &id).await;
    assert_eq!(kept["counts"], counts(&[("total", 1), ("sent", 1)]));
    assert_eq!(
        by_phone(&kept, &["body", "status"]),
        json!([{"to": "", "body": "", "status": "SENT"}])
    );
    let found = app
        .data(
            "{ alertMessages(phone: \"418-555-0100\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["alertMessages"]["totalCount"], 0);
}

/// `N` server processes on `url` sending through `twilio` at `rate`
/// messages per second, the provider given `timeout` to answer.
async fn instances_through<const N: usize>(
    url: &str,
    twilio: &TwilioDouble,
    rate: &str,
    timeout: &str,
) -> [Instance; N] {
    let env = [
        ("SMS_PROVIDER", "twilio"),
        ("TWILIO_BASE_URL", twilio.base.as_str()),
        ("TWILIO_ACCOUNT_SID", twilio.account_sid.as_str()),
        ("TWILIO_AUTH_TOKEN", twilio.auth_token.as_str()),
        ("TWILIO_FROM", "+15145550001"),
        ("SMS_RATE", rate),
        ("SMS_TIMEOUT", timeout),
        ("DISPATCH_WORKER_INTERVAL", "50ms"),
    ];
    Instance::healthy_many(url, &env).await
}

/// A sector in alert through the instance at `base` (sending hours all
/// day, so that the test's hour does not matter): the alert's id.
async fn alert_through(instance: &Instance, token: &str, phones: &[String]) -> String {
    let all_day = "mutation { updateAlertSettings(input: {sendFrom: \"00:00\", sendUntil: \"00:00\"}) { sendFrom } }";
    instance.graphql(token, all_day).await;
    let phones: Vec<(&str, &str)> = phones.iter().map(|p| (p.as_str(), "SMS")).collect();
    let imported = import_at(&instance.base, token, recipients_file(&phones)).await;
    assert!(imported.get("errors").is_none(), "{imported:#}");
    let sector = instance
        .graphql_with(
            token,
            "mutation($g: JSON!) { createSector(input: {name: \"Nord\", geometry: $g}) { id } }",
            json!({"g": square()}),
        )
        .await["data"]["createSector"]["id"]
        .clone();
    instance
        .graphql_with(
            token,
            "mutation($id: ID!) { startSectorAlert(id: $id) { id } }",
            json!({"id": sector}),
        )
        .await["data"]["startSectorAlert"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The alert, read through `instance`, once `done` holds (30 s at most).
async fn alert_at(
    instance: &Instance,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let body = instance.graphql_with(token, ALERT, json!({"id": id})).await;
        if done(&body["data"]["alert"]) {
            return body["data"]["alert"].clone();
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "alert never reached the state: {:#}",
        last["data"]["alert"]["counts"]
    )
}

#[tokio::test]
async fn two_instances_never_send_a_message_twice_and_together_keep_the_rate() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only: several processes share one database
    };
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    let instances: [Instance; 2] = instances_through(&url, &twilio, "4", "10s").await;
    let token = new_org(&url);
    let phones: Vec<String> = (0..12)
        .map(|i| format!("418-555-{:04}", 2010 + i))
        .collect();
    let id = alert_through(&instances[0], &token, &phones).await;

    let done = alert_at(&instances[1], &token, &id, |a| {
        a["counts"]["delivered"] == 12
    })
    .await;
    assert_eq!(done["counts"], counts(&[("total", 12), ("delivered", 12)]));
    // Each phone asked once, whichever instance sent it.
    let mut posted = twilio.posted();
    let mut to: Vec<String> = posted.iter().map(|p| p.form["To"].clone()).collect();
    to.sort();
    let expected: Vec<String> = phones
        .iter()
        .map(|p| format!("+1{}", p.replace('-', "")))
        .collect();
    assert_eq!(to, expected);
    // One number at 4 a second, for the deployment: the slots are a
    // quarter second apart; what arrives carries each send's own delay
    // (a write, a request), a quarter second of it allowed here. Each
    // instance at 4 a second on its own would send 5 in half a second,
    // and all 12 in under 1.4 s.
    posted.sort_by_key(|p| p.at);
    for window in posted.windows(5) {
        let span = window[4].at - window[0].at;
        assert!(
            span >= Duration::from_millis(750),
            "5 sends within {span:?}"
        );
    }
    let all = posted[11].at - posted[0].at;
    assert!(
        all >= Duration::from_millis(2500),
        "12 sends within {all:?}"
    );
}

#[tokio::test]
async fn an_instance_killed_during_the_call_leaves_an_unknown_outcome_never_a_second_sms() {
    let Some((url, _schema)) = fresh_postgres_url().await else {
        return; // PostgreSQL only: several processes share one database
    };
    let twilio = TwilioDouble::start(Duration::from_millis(20)).await;
    // The call's lease: its 3 s timeout and 5 s to record the answer.
    let [mut sending]: [Instance; 1] = instances_through(&url, &twilio, "0", "3s").await;
    let token = new_org(&url);
    // `…06`: the double never answers; the instance dies while it waits.
    let id = alert_through(&sending, &token, &["418-555-0106".to_owned()]).await;
    for _ in 0..200 {
        if !twilio.posted().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(twilio.posted().len(), 1);
    sending.kill();

    let [other]: [Instance; 1] = instances_through(&url, &twilio, "0", "3s").await;
    let lost = alert_at(&other, &token, &id, |a| a["counts"]["failed"] == 1).await;
    assert_eq!(
        by_phone(&lost, &["status", "errorCode", "attempts"]),
        json!([{"to": "+14185550106", "status": "FAILED", "errorCode": "UNKNOWN_OUTCOME", "attempts": 1}])
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(twilio.posted().len(), 1, "sent again");
}

#[tokio::test]
async fn a_page_of_messages_loads_their_occupants_and_alerts_in_one_statement_each() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    let phones = [
        ("418-555-0100", "SMS"),
        ("418-555-0101", "SMS"),
        ("418-555-0102", "appel"),
    ];
    let sector = sector_with(&app, &phones).await;
    let id = start(&app, &sector).await;
    alert_when(&app, &id, |a| a["counts"]["sent"] == 3).await;

    app.reset_statements();
    let page = app
        .data(
            "{ alertMessages(first: 10) { edges { node { to occupant { phone } alert { id sector { name } } } } } }",
            json!({}),
        )
        .await;
    let phones: Vec<&Value> = nodes(&page["alertMessages"])
        .map(|m| &m["occupant"]["phone"])
        .collect();
    assert_eq!(
        phones,
        [
            &json!("418-555-0100"),
            &json!("418-555-0101"),
            &json!("418-555-0102")
        ]
    );
    let reading = |table: &str| {
        app.statements()
            .iter()
            .filter(|sql| sql.contains(&format!("FROM \"{table}\"")))
            .count()
    };
    assert_eq!(
        (
            reading("occupant"),
            reading("sector_alert"),
            reading("sector")
        ),
        (1, 1, 1)
    );
}
