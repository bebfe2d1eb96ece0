//! The binary itself: `schema`, `org create`, `token create/revoke`, and
//! `serve` until SIGTERM. These drive a SQLite file of their own: they test
//! the command line, not the database.

use std::process::{Command, Stdio};
use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;

fn binary(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flokon-api"));
    command
        .env("DATABASE_URL", database_url)
        .env("GEOCODER", "none")
        .env("RUST_LOG", "warn");
    command
}

pub fn run(database_url: &str, args: &[&str]) -> String {
    let output = binary(database_url)
        .args(args)
        .output()
        .expect("run flokon-api");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

pub fn field<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {output}"))
        .split_whitespace()
        .next()
        .expect("value")
}

#[test]
fn schema_prints_the_sdl() {
    assert_eq!(
        run("sqlite::memory:", &["schema"]),
        flokon_api::graphql::sdl()
    );
}

#[tokio::test]
async fn serve_answers_with_a_token_from_org_create_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());

    let created = run(&url, &["org", "create", "Déneigement Rive-Sud"]);
    let org = field(&created, "organization: ").to_owned();
    let token = field(&created, "token: ").to_owned();
    let second = run(&url, &["token", "create", "--org", &org, "--label", "ci"]);
    let second_id = field(&second, "token id: ").to_owned();
    let second_token = field(&second, "token: ").to_owned();
    assert!(token.starts_with("flk_") && token.len() >= 40);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = binary(&url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let base = format!("http://127.0.0.1:{port}");
    let http = crate::helpers::http_client();
    let mut healthy = false;
    for _ in 0..100 {
        if http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "server did not come up");

    let post = async |token: &str, query: &str| -> serde_json::Value {
        let request = http.post(format!("{base}/graphql")).bearer_auth(token);
        let response = request.json(&json!({ "query": query })).send().await;
        response.unwrap().json().await.unwrap()
    };
    let create = r#"mutation { createClient(input: {externalId: "C-1"}) { externalId } }"#;
    let body = post(&token, create).await;
    assert_eq!(body["data"]["createClient"]["externalId"], "C-1");

    run(&url, &["token", "revoke", &second_id]);
    let body = post(&second_token, "{ clients { totalCount } }").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let listed = run(&url, &["token", "list", "--org", &org]);
    assert_eq!(
        listed.lines().filter(|l| l.contains("\tactive\t")).count(),
        1
    );
    assert_eq!(
        listed.lines().filter(|l| l.contains("\trevoked\t")).count(),
        1
    );

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "server exit status after SIGTERM: {status}"
    );
}

#[tokio::test]
async fn serve_with_migrate_on_start_false_waits_for_the_migrate_command() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let tables = async || -> Vec<String> {
        let db = sea_orm::Database::connect(&url).await.unwrap();
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('seaql_migrations', 'client') ORDER BY name",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|row| row.try_get::<String>("", "name").unwrap())
            .collect()
    };

    let no_migration = [("MIGRATE_ON_START", "false")];
    let mut server = crate::instances::Instance::start(&url, &no_migration);
    let refused = server.healthy().await.unwrap_err();
    assert!(
        refused.contains("run `flokon-api migrate` first"),
        "{refused}"
    );
    assert_eq!(tables().await, Vec::<String>::new());

    assert_eq!(run(&url, &["migrate"]).trim(), "migrations applied");
    assert_eq!(tables().await, ["client", "seaql_migrations"]);
    let mut server = crate::instances::Instance::start(&url, &no_migration);
    server.healthy().await.unwrap();
}

/// The binary run to its end: exit code, stdout, stderr.
fn run_status(database_url: &str, args: &[&str]) -> (i32, String, String) {
    let output = binary(database_url)
        .args(args)
        .output()
        .expect("run flokon-api");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn import_commits_reports_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let org = field(
        &run(&url, &["org", "create", "Déneigement CLI"]),
        "organization: ",
    )
    .to_owned();
    let headers = crate::fixtures::template_headers().join(",");
    let write = |name: &str, rows: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{headers}\n{}\n", rows.join("\n"))).unwrap();
        path.display().to_string()
    };
    let good = write(
        "good.csv",
        &[
            "Ana,,418-555-0101,SMS,\"100 rue du Pont, Québec, QC, G1K 1A1\",,IMM-100",
            "Ben,,418-555-0102,Appel,\"100 rue du Pont, Québec, QC, G1K 1A1\",,IMM-100",
        ],
    );
    let bad = write(
        "bad.csv",
        &[
            "Ana,,418-555-0101,SMS,\"100 rue du Pont, Québec, QC, G1K 1A1\",,IMM-100",
            "Zoé,,12,SMS,\"5 rue du Lac, Québec, QC, G1K 1A2\",,IMM-200",
        ],
    );

    let import = |file: &str, extra: &[&str]| {
        let mut args = vec![
            "import",
            file,
            "--org",
            &org,
            "--mode",
            "MERGE_KEEP_MISSING",
        ];
        args.extend_from_slice(extra);
        run_status(&url, &args)
    };
    let (code, out, err) = import(&good, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("committed: no (dry run)\n"), "{out}");
    assert!(
        out.contains("occupants: 2 created, 0 updated, 0 unchanged, 0 deleted\n"),
        "{out}"
    );

    let (code, out, err) = import(&good, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("committed: yes\n"), "{out}");
    assert!(out.contains("rows: 2 (errors: 0, skipped: 0)\n"), "{out}");
    assert!(
        out.contains("clients: 1 created, 0 updated, 0 unchanged, 0 deleted\n"),
        "{out}"
    );
    // Not a terminal: a plain line per phase instead of a bar.
    assert!(err.ends_with("100% done 2/2 rows\n"), "{err}");

    // A dry run says what each updated row changes.
    let switched = write(
        "switched.csv",
        &[
            "Ana,,418-555-0101,Appel,\"100 rue du Pont, Québec, QC, G1K 1A1\",,IMM-100",
            "Ben,,418-555-0102,Appel,\"100 rue du Pont, Québec, QC, G1K 1A1\",,IMM-100",
        ],
    );
    let (code, out, err) = import(&switched, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("\nrow 2: contactMethod SMS -> CALL\n"),
        "{out}"
    );
    assert!(!out.contains("row 3:"), "{out}");

    let (code, out, _) = import(&bad, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("committed: no\n"), "{out}");
    assert!(out.contains("rows: 2 (errors: 1, skipped: 0)\n"), "{out}");
    assert!(out.contains("row 3: PHONE_INVALID (Téléphone*): "), "{out}");

    let (code, out, _) = import(&bad, &["--skip-invalid-rows"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("occupants: 0 created, 0 updated, 1 unchanged, 0 deleted\n"),
        "{out}"
    );

    let missing = uuid::Uuid::now_v7().to_string();
    let (code, _, err) = run_status(
        &url,
        &["import", &good, "--org", &missing, "--mode", "REPLACE_ALL"],
    );
    assert_eq!(code, 1);
    assert!(err.contains(&format!("no organization {missing}")), "{err}");
}
