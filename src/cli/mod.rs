//! The whole command line: what each command reads (its flags, each also an
//! environment variable) and what it does. Serving is the default; every
//! other command shows only the settings it uses (`flokon-api import
//! --help` lists no server flag).

mod import;
mod tenants;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::auth::OrgId;
use crate::config::{DbConfig, ServeConfig};
use crate::service::organizations;
use crate::{db, graphql};

pub use import::ImportArgs;

/// A command's failure: its message ends the process.
pub type Failure = Box<dyn std::error::Error>;

#[derive(Debug, Parser)]
#[command(
    name = "flokon-api",
    version,
    about = "Flokon's GraphQL API: clients, service points, occupants, imports, sectors.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a command: serve.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve(Box<ServeArgs>),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Apply pending database migrations.
    Migrate(Database),
    /// Organizations (tenants).
    #[command(subcommand)]
    Org(tenants::OrgCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(tenants::TokenCommand),
    /// Import a spreadsheet for an organization, as `importSpreadsheet`
    /// does (exit status 0 when committed, or a clean dry run).
    Import(ImportArgs),
}

/// Where the data lives: every command but `schema` reads it.
#[derive(Clone, Debug, Args)]
pub struct Database {
    /// Database URL: `sqlite://FILE?mode=rwc` (created if missing) or `postgres://...`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://flokon.db?mode=rwc"
    )]
    pub database_url: String,

    #[command(flatten)]
    pub pool: DbConfig,
}

impl Database {
    async fn connect(&self) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
        db::connect(&self.database_url, &self.pool).await
    }

    /// Connected, with the schema brought up to date (commands that write
    /// on a fresh file).
    async fn migrated(&self) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
        let db = self.connect().await?;
        db::migrate(&db).await?;
        Ok(db)
    }
}

#[derive(Clone, Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    database: Database,
    /// Apply pending migrations when the server starts (under a database
    /// lock, so instances booting together take turns); `false` leaves them
    /// to `flokon-api migrate`.
    #[arg(long, env = "MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    migrate_on_start: bool,

    #[command(flatten)]
    config: ServeConfig,
}

/// Runs the command; `Ok(false)` asks for a failing exit status without
/// an error message (an import that did not commit says why itself).
pub async fn run(cli: Cli) -> Result<bool, Failure> {
    match cli.command {
        None => serve(cli.serve).await?,
        Some(Command::Serve(args)) => serve(*args).await?,
        Some(Command::Schema) => print!("{}", graphql::sdl()),
        Some(Command::Migrate(database)) => {
            database.migrated().await?;
            println!("migrations applied");
        }
        Some(Command::Org(command)) => tenants::org(command).await?,
        Some(Command::Token(command)) => tenants::token(command).await?,
        Some(Command::Import(args)) => {
            let db = args.database.migrated().await?;
            return import::import(&db, args).await;
        }
    }
    Ok(true)
}

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let db = args.database.connect().await?;
    if args.migrate_on_start {
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
    if organizations::count(&db).await? == 0 {
        tracing::info!("no organization yet: run `flokon-api org create \"Name\"` to get a token");
    }
    let app = Application::build(args.config, db).await?;
    tracing::info!(addr = %app.local_addr()?, "listening; GraphiQL at /graphql");
    app.run_until_stopped().await?;
    Ok(())
}

/// The organization an operator names, which must exist: with a verified
/// token, the only way to act for an organization.
async fn named(db: &sea_orm::DatabaseConnection, id: uuid::Uuid) -> Result<OrgId, Failure> {
    Ok(organizations::named(db, id)
        .await?
        .ok_or_else(|| format!("no organization {id}"))?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Each command lists only the settings it uses.
    #[test]
    fn commands_show_only_their_own_flags() {
        let mut cli = Cli::command();
        let flags = |command: &clap::Command| -> Vec<String> {
            command
                .get_arguments()
                .filter_map(|arg| arg.get_long().map(str::to_owned))
                .collect()
        };
        let import = flags(cli.find_subcommand_mut("import").unwrap());
        assert!(import.contains(&"database-url".to_owned()));
        assert!(import.contains(&"max-import-rows".to_owned()));
        assert!(import.contains(&"geocoder".to_owned()));
        for server_only in [
            "bind-addr",
            "max-depth",
            "webhook-timeout",
            "graphiql",
            "migrate-on-start",
        ] {
            assert!(!import.contains(&server_only.to_owned()), "{server_only}");
        }
        let schema = flags(cli.find_subcommand_mut("schema").unwrap());
        assert!(schema.is_empty(), "{schema:?}");
        let serve = flags(&cli);
        assert!(serve.contains(&"bind-addr".to_owned()));
    }
}
