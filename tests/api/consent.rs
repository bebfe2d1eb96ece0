//! Consent requests and their answers, the organization's templates in
//! each occupant's language, and what a message costs: through the Twilio
//! double, as a contractor's front end drives them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::alerts::{NOON_IN_QUEBEC, alert_app, sector_with, through};
use crate::fixtures::{T, xlsx};
use crate::helpers::{
    TestApp, TwilioDouble, error_codes, error_message, error_reason, mode, nodes, row_issues,
};
use crate::replies::{next_alert, reply};

/// Every occupant as `(phone, id, consentStatus, language)`, by phone.
async fn occupants(app: &TestApp) -> Vec<(String, String, String, String)> {
    let data = app
        .data(
            "{ servicePoints(first: 100) { edges { node { occupants {
                id phone consentStatus optedOutAt language
            } } } } }",
            json!({}),
        )
        .await;
    let mut found: Vec<(String, String, String, String)> = nodes(&data["servicePoints"])
        .flat_map(|point| point["occupants"].as_array().unwrap().clone())
        .map(|o| {
            let text = |field: &str| o[field].as_str().unwrap().to_owned();
            (
                text("phone"),
                text("id"),
                text("consentStatus"),
                text("language"),
            )
        })
        .collect();
    found.sort();
    found
}

/// The SMS bodies the double received, by destination.
fn bodies(twilio: &TwilioDouble) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = twilio
        .posted()
        .into_iter()
        .filter(|p| p.resource == "Messages")
        .map(|p| (p.form["To"].clone(), p.form["Body"].clone()))
        .collect();
    found.sort();
    found
}

async fn posted_count(twilio: &TwilioDouble, n: usize) {
    for _ in 0..200 {
        if twilio.posted().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} posted, {n} expected", twilio.posted().len());
}

const REQUEST: &str = "mutation($ids: [ID!]!) { requestConsent(occupantIds: $ids) }";

#[tokio::test]
async fn a_consent_request_is_answered_and_only_accepted_phones_are_alerted() {
    let twilio = TwilioDouble::start(Duration::from_millis(10)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    app.data(
        "mutation { updateAlertSettings(input: {requireConsent: true, oncePerDay: false}) { requireConsent } }",
        json!({}),
    )
    .await;
    let sector = sector_with(
        &app,
        &[
            ("418-555-0120", "SMS"),
            ("418-555-0121", "appel"),
            ("418-555-0122", "SMS"),
        ],
    )
    .await;
    let before = occupants(&app).await;
    assert!(before.iter().all(|o| o.2 == "UNKNOWN"), "{before:?}");
    let ids: Vec<&str> = before[..2].iter().map(|o| o.1.as_str()).collect();

    let sent = app.data(REQUEST, json!({"ids": ids})).await;
    assert_eq!(sent["requestConsent"], 2);
    posted_count(&twilio, 2).await;
    // By SMS even to the occupant alerted by call: a call cannot say OUI.
    assert_eq!(
        bodies(&twilio),
        [
            ("+14185550120".to_owned(), "Déneigement Test : répondez OUI pour recevoir nos alertes de déneigement par SMS, ARRET pour refuser.".to_owned()),
            ("+14185550121".to_owned(), "Déneigement Test : répondez OUI pour recevoir nos alertes de déneigement par SMS, ARRET pour refuser.".to_owned()),
        ]
    );
    let pending: Vec<String> = occupants(&app).await.into_iter().map(|o| o.2).collect();
    assert_eq!(pending, ["PENDING", "PENDING", "UNKNOWN"]);

    let (_, yes) = reply(&app, &twilio, "+14185550120", "Oui").await;
    assert!(yes.contains("merci, vous recevrez nos alertes"), "{yes}");
    let (_, no) = reply(&app, &twilio, "+14185550121", "NON").await;
    assert!(no.contains("vous ne recevrez pas nos alertes"), "{no}");
    let (_, unasked) = reply(&app, &twilio, "+14185550122", "non").await;
    assert!(!unasked.contains("<Message>"), "nothing asked: {unasked}");
    let answered: Vec<String> = occupants(&app).await.into_iter().map(|o| o.2).collect();
    assert_eq!(answered, ["ACCEPTED", "DECLINED", "UNKNOWN"]);

    let alerted = next_alert(&app, &sector).await;
    let outcome: Vec<(&str, &str, Value)> = alerted
        .iter()
        .map(|(to, status, reason)| (to.as_str(), status.as_str(), reason.clone()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("+14185550120", "DELIVERED", Value::Null),
            ("+14185550121", "SKIPPED", json!("NO_CONSENT")),
            ("+14185550122", "SKIPPED", json!("NO_CONSENT")),
        ]
    );

    // Asked again: the accepted phone is not; the declined one may be.
    let again = app.data(REQUEST, json!({"ids": ids})).await;
    assert_eq!(again["requestConsent"], 1);

    // The replies are kept, what each did beside it.
    let replies = app
        .data(
            "{ replies(first: 10) { totalCount edges { node { from body keyword } } } }",
            json!({}),
        )
        .await;
    let kept: Vec<(Value, Value, Value)> = nodes(&replies["replies"])
        .map(|r| (r["from"].clone(), r["body"].clone(), r["keyword"].clone()))
        .collect();
    assert_eq!(
        kept,
        [
            (json!("418-555-0120"), json!("Oui"), json!("ACCEPTED")),
            (json!("418-555-0121"), json!("NON"), json!("DECLINED")),
            (json!("418-555-0122"), json!("non"), Value::Null),
        ]
    );
}

#[tokio::test]
async fn a_consent_request_names_only_the_organizations_occupants() {
    let app = crate::helpers::spawn_app().await;
    let other = app.new_org("Autre").await;
    let created = app
        .graphql_as(
            Some(&other),
            "mutation { createClient(input: {externalId: \"X\"}) { id } }",
            json!({}),
        )
        .await;
    let client = created["data"]["createClient"]["id"].clone();
    let point = app
        .graphql_as(
            Some(&other),
            "mutation($c: ID!) { createServicePoint(input: {clientId: $c, address: {addressLine1: \"1 rue A\"}}) { id } }",
            json!({"c": client}),
        )
        .await["data"]["createServicePoint"]["id"]
        .clone();
    let theirs = app
        .graphql_as(
            Some(&other),
            "mutation($p: ID!) { createOccupant(input: {servicePointId: $p, phone: \"418-555-0130\", contactMethod: SMS}) { id } }",
            json!({"p": point}),
        )
        .await["data"]["createOccupant"]["id"]
        .clone();
    let body = app.graphql(REQUEST, json!({"ids": [theirs]})).await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
    assert_eq!(app.rows::<entity::alert_message::Entity>().await, 0);
}

const SAVE: &str = "mutation($input: MessageTemplateInput!) {
    updateMessageTemplate(input: $input) { channel language body isDefault }
}";

#[tokio::test]
async fn templates_are_checked_when_saved_and_speak_each_occupants_language() {
    let twilio = TwilioDouble::start(Duration::from_millis(10)).await;
    let app = alert_app(NOON_IN_QUEBEC, through(&twilio)).await;
    let listed = app
        .data(
            "{ messageTemplates { channel language isDefault body } }",
            json!({}),
        )
        .await;
    let defaults: Vec<(Value, Value, Value)> = listed["messageTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["channel"].clone(),
                t["language"].clone(),
                t["isDefault"].clone(),
            )
        })
        .collect();
    assert_eq!(
        defaults,
        [
            (json!("SMS"), json!("FR"), json!(true)),
            (json!("SMS"), json!("EN"), json!(true)),
            (json!("CALL"), json!("FR"), json!(true)),
            (json!("CALL"), json!("EN"), json!(true)),
        ]
    );

    // Refused, with where, and nothing saved.
    let unknown = app
        .graphql(
            SAVE,
            json!({"input": {"channel": "SMS", "language": "FR", "body": "Bonjour {{ prenon }}"}}),
        )
        .await;
    assert_eq!(error_codes(&unknown), ["BAD_USER_INPUT"], "{unknown}");
    assert_eq!(error_reason(&unknown), "TEMPLATE_INVALID");
    assert!(error_message(&unknown).contains("« prenon »"), "{unknown}");
    let syntax = app
        .graphql_in(
            "en",
            SAVE,
            json!({"input": {"channel": "SMS", "language": "FR", "body": "Bonjour\n{% if prenom %}"}}),
        )
        .await;
    assert_eq!(error_codes(&syntax), ["BAD_USER_INPUT"], "{syntax}");
    assert!(
        error_message(&syntax).starts_with("Syntax error on line 2"),
        "{syntax}"
    );
    assert_eq!(app.rows::<entity::message_template::Entity>().await, 0);

    let french = "{{ compagnie }} : {{ prenom }}, déneigement {{ secteur }} le {{ date }}. ARRET pour arrêter.";
    let saved = app
        .data(
            SAVE,
            json!({"input": {"channel": "SMS", "language": "FR", "body": french}}),
        )
        .await;
    assert_eq!(saved["updateMessageTemplate"]["isDefault"], false);

    let sector = sector_with(&app, &[("418-555-0140", "SMS"), ("418-555-0141", "SMS")]).await;
    let english = occupants(&app).await[1].1.clone();
    let updated = app
        .data(
            "mutation($id: ID!) { updateOccupant(id: $id, input: {language: EN, firstName: \"Mary\"}) { language } }",
            json!({"id": english}),
        )
        .await;
    assert_eq!(updated["updateOccupant"]["language"], "EN");

    next_alert(&app, &sector).await;
    assert_eq!(
        bodies(&twilio),
        [
            // `arrêter`: the ê makes it UCS-2 (sent as written: no transliteration).
            ("+14185550140".to_owned(), "Déneigement Test : , déneigement Rue Principale le 15 juillet. ARRET pour arrêter.".to_owned()),
            ("+14185550141".to_owned(), "Déneigement Test: snow removal on your street (Rue Principale) starts soon. Please clear the way. Reply STOP to unsubscribe.".to_owned()),
        ]
    );
    let messages = app
        .data(
            "{ alertMessages(first: 10) { edges { node { to language encoding segments } } } }",
            json!({}),
        )
        .await;
    let costs: Vec<(Value, Value, Value, Value)> = nodes(&messages["alertMessages"])
        .map(|m| {
            (
                m["to"].clone(),
                m["language"].clone(),
                m["encoding"].clone(),
                m["segments"].clone(),
            )
        })
        .collect();
    assert!(
        costs.contains(&(json!("+14185550140"), json!("FR"), json!("UCS2"), json!(2))),
        "{costs:?}"
    );
    assert!(
        costs.contains(&(json!("+14185550141"), json!("EN"), json!("GSM7"), json!(1))),
        "{costs:?}"
    );

    // Back to the default.
    let reset = app
        .data(
            SAVE,
            json!({"input": {"channel": "SMS", "language": "FR", "body": null}}),
        )
        .await;
    assert_eq!(reset["updateMessageTemplate"]["isDefault"], true);
    assert_eq!(app.rows::<entity::message_template::Entity>().await, 0);
}

const PREVIEW: &str = "query($input: PreviewMessageInput!) { previewMessage(input: $input) {
    text encoding characters segments transliterated transliteratedSegments
} }";

#[tokio::test]
async fn the_preview_tells_the_encoding_and_cost_with_and_without_accents() {
    let app = alert_app(NOON_IN_QUEBEC, |_| {}).await;
    let sector = sector_with(&app, &[("418-555-0150", "SMS")]).await;
    let occupant = occupants(&app).await[0].1.clone();
    let body = "{{ compagnie }} : la rue du {{ adresse }} sera déneigée très tôt, {{ date }}. Arrêtez-vous à {{ secteur }}.";
    let preview = app
        .data(
            PREVIEW,
            json!({"input": {"channel": "SMS", "language": "FR", "body": body, "occupantId": occupant, "sectorId": sector}}),
        )
        .await["previewMessage"]
        .clone();
    let text = "Déneigement Test : la rue du 1 rue Principale, Québec sera déneigée très tôt, 15 juillet. Arrêtez-vous à Rue Principale.";
    assert_eq!(
        preview,
        json!({
            "text": text,
            "encoding": "UCS2",
            "characters": 120,
            "segments": 2,
            "transliterated": "Déneigement Test : la rue du 1 rue Principale, Québec sera déneigée très tot, 15 juillet. Arretez-vous à Rue Principale.",
            "transliteratedSegments": 1,
        })
    );

    // The default, with sample values; a call has no SMS cost.
    let call = app
        .data(
            PREVIEW,
            json!({"input": {"channel": "CALL", "language": "EN"}}),
        )
        .await["previewMessage"]
        .clone();
    assert_eq!(call["encoding"], Value::Null);
    assert_eq!(call["segments"], Value::Null);
    assert_eq!(
        call["text"],
        "Hello, this is Déneigement Test. Snow removal on your street, sector Sector 1, starts soon. Please clear the way."
    );
}

#[tokio::test]
async fn with_sms_transliterate_french_accents_outside_gsm7_are_sent_without_them() {
    let twilio = TwilioDouble::start(Duration::from_millis(10)).await;
    let app = alert_app(NOON_IN_QUEBEC, |config| {
        through(&twilio)(config);
        config.alerts.sms_transliterate = true;
    })
    .await;
    let sector = sector_with(&app, &[("418-555-0160", "SMS")]).await;
    let id = app
        .data(
            "mutation($id: ID!) { startSectorAlert(id: $id, message: \"Fête : déneigement très tôt.\") { id } }",
            json!({"id": sector}),
        )
        .await["startSectorAlert"]["id"]
        .clone();
    posted_count(&twilio, 1).await;
    assert_eq!(bodies(&twilio)[0].1, "Fete : déneigement très tot.");
    let alert = crate::alerts::alert(&app, id.as_str().unwrap()).await;
    let message = nodes(&alert["messages"]).next().unwrap().clone();
    assert_eq!(
        (message["encoding"].clone(), message["segments"].clone()),
        (json!("GSM7"), json!(1))
    );
}

#[tokio::test]
async fn the_language_column_is_read_exported_and_kept_when_empty() {
    let app = crate::helpers::spawn_app().await;
    let file = |languages: [&'static str; 3]| {
        let mut rows = vec![vec![
            T("Téléphone"),
            T("SMS/Appel"),
            T("Adresse"),
            T("Langue"),
        ]];
        for (i, language) in languages.iter().enumerate() {
            rows.push(vec![
                T(["418-555-0170", "418-555-0171", "418-555-0172"][i]),
                T("SMS"),
                T(["1 rue A, Québec", "2 rue A, Québec", "3 rue A, Québec"][i]),
                T(language),
            ]);
        }
        xlsx(&rows)
    };
    let refused = app
        .upload(
            "langues.xlsx",
            file(["anglais", "FR", "espagnol"]),
            mode("MERGE_KEEP_MISSING"),
        )
        .await;
    let run = &refused["data"]["importSpreadsheet"];
    assert_eq!(
        row_issues(run, "errors"),
        crate::helpers::issues(&[(4, "LANGUAGE_INVALID", "Langue")])
    );
    app.import(
        "langues.xlsx",
        file(["anglais", "FR", "English"]),
        mode("MERGE_KEEP_MISSING"),
    )
    .await;
    let languages: Vec<String> = occupants(&app).await.into_iter().map(|o| o.3).collect();
    assert_eq!(languages, ["EN", "FR", "EN"]);
    // An empty cell keeps the language.
    let run = app
        .import(
            "langues.xlsx",
            file(["", "", "English"]),
            mode("MERGE_KEEP_MISSING"),
        )
        .await;
    assert_eq!(crate::helpers::counts(&run, "occupants"), [0, 0, 3, 0]);
    let languages: Vec<String> = occupants(&app).await.into_iter().map(|o| o.3).collect();
    assert_eq!(languages, ["EN", "FR", "EN"]);
}
