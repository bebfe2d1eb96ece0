//! Webhook delivery latency on loopback: `cargo bench --bench webhooks`.
//!
//! The server in-process on SQLite (and on PostgreSQL with
//! `BENCH_DATABASE_URL` or `TEST_DATABASE_URL`) with the default worker
//! interval; a receiver on loopback; 40 `sendTestWebhook`s one after the
//! other, each timed from the mutation's answer (the event committed) to
//! its arrival at the receiver. (PostgreSQL wakes the worker with
//! LISTEN/NOTIFY at commit; SQLite waits for the next poll.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use flokon_api::config::ServeConfig;
use sea_orm::ConnectOptions;
use serde_json::json;
use tokio::sync::mpsc;

const EVENTS: usize = 40;

async fn run(label: &str, options: ConnectOptions) {
    let (db, token) = common::database(options).await;

    let (arrived, mut arrivals) = mpsc::unbounded_channel::<Instant>();
    let arrived = Arc::new(arrived);
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let arrived = arrived.clone();
            async move {
                let _ = arrived.send(Instant::now());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let hook = format!("{}/hook", common::serve_router(receiver).await);

    let mut config = ServeConfig::default();
    config.webhooks.webhook_allow_private = true;
    // Every event is a test send: no cap on them here.
    config.webhooks.webhook_test_sends_per_minute = EVENTS;
    let server = common::serve(&db, config, &token).await;
    let created = server
        .graphql(
            "mutation($url: String!) { createWebhookEndpoint(input: {url: $url, events: [TEST]}) { endpoint { id } } }",
            json!({"url": hook}),
        )
        .await;
    let endpoint = created["data"]["createWebhookEndpoint"]["endpoint"]["id"].clone();

    let mut latencies = Vec::with_capacity(EVENTS);
    for _ in 0..EVENTS {
        let answer = server
            .graphql(
                "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
                json!({"id": endpoint}),
            )
            .await;
        assert!(
            answer["data"]["sendTestWebhook"]["id"].is_string(),
            "{answer}"
        );
        let committed = Instant::now();
        let at = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
            .await
            .expect("delivered within 10 s")
            .unwrap();
        latencies.push(at.saturating_duration_since(committed));
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: {EVENTS} deliveries, event committed -> received: min {:.1} ms, p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms (worker interval 250 ms)",
        ms(latencies[0]),
        ms(latencies[EVENTS / 2]),
        ms(latencies[EVENTS * 9 / 10]),
        ms(latencies[EVENTS - 1]),
    );
}

#[tokio::main]
async fn main() {
    flokon_api::geocode::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    run("SQLite", common::sqlite(&dir, "bench.db", 5)).await;
    if let Some(url) = common::postgres_url() {
        let mut options = ConnectOptions::new(url);
        options.max_connections(5);
        run("PostgreSQL", options).await;
    }
}
