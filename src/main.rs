//! The binary: parses the command line, sets up logging, and runs the
//! server or an operator command (schema, migrate, org, token, import).

use clap::Parser;
use flokon_api::auth::OrgId;
use flokon_api::config::{Cli, Command, OrgCommand, TokenCommand};
use flokon_api::{app::Application, command, db, graphql, service};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc: an import allocates and frees
/// millions of small values, and glibc spent more than half the server's
/// time in malloc/free (perf) and kept freed memory in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow_free::Result {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => print!("{}", graphql::sdl()),
        Command::Serve => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            if cli.database.migrate_on_start {
                db::migrate(&db).await?;
            } else {
                let pending = db::pending_migrations(&db).await?;
                if pending > 0 {
                    return Err(format!(
                        "{pending} database migration(s) pending and MIGRATE_ON_START=false: \
                         run `flokon-api migrate` first"
                    )
                    .into());
                }
            }
            if service::organizations::count(&db).await? == 0 {
                tracing::info!(
                    "no organization yet: run `flokon-api org create \"Name\"` to get a token"
                );
            }
            let app = Application::build(cli.serve, db).await?;
            tracing::info!(addr = %app.local_addr()?, "listening; GraphiQL at /graphql");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Org(OrgCommand::Create { name }) => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            db::migrate(&db).await?;
            let (org, token) = service::organizations::create(&db, &name).await?;
            println!("organization: {} ({})", org.id, org.name);
            println!("token id: {}", token.id);
            println!("token: {}", token.token);
            eprintln!(
                "The token is shown once: store it now. Send it as `Authorization: Bearer <token>`."
            );
        }
        Command::Token(TokenCommand::Create { org, label }) => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            let token =
                service::organizations::create_token(&db, OrgId::new(org), label.as_deref())
                    .await?;
            println!("token id: {}", token.id);
            println!("token: {}", token.token);
            eprintln!("The token is shown once: store it now.");
        }
        Command::Import(args) => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            db::migrate(&db).await?;
            if !command::import(&db, &cli.serve, args).await? {
                std::process::exit(1);
            }
        }
        Command::Token(TokenCommand::Revoke { token }) => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            let revoked = service::organizations::revoke_token(&db, &token).await?;
            println!("revoked: {}", revoked.id);
        }
        Command::Token(TokenCommand::List { org }) => {
            let db = db::connect(&cli.database_url, &cli.database).await?;
            for token in service::organizations::list_tokens(&db, OrgId::new(org)).await? {
                let state = if token.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    token.id,
                    state,
                    token.created_at,
                    token.label.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

/// The binary's errors end the process with their message; no crate needed.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
