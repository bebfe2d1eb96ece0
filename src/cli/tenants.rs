//! `org` and `token`: the operator's side of tenants and their tokens.

use clap::Subcommand;

use super::{Database, Failure, named};
use crate::service::organizations;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization and print its first token (shown once).
    Create {
        name: String,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an organization and print it (shown once).
    Create {
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        database: Database,
    },
    /// Revoke a token, named by its id or by its value.
    Revoke {
        token: String,
        #[command(flatten)]
        database: Database,
    },
    /// List an organization's tokens (ids and labels, never values).
    List {
        #[arg(long)]
        org: uuid::Uuid,
        #[command(flatten)]
        database: Database,
    },
}

pub async fn org(command: OrgCommand) -> Result<(), Failure> {
    let OrgCommand::Create { name, database } = command;
    let db = database.migrated().await?;
    let (org, token) = organizations::create(&db, &name).await?;
    println!("organization: {} ({})", org.id, org.name);
    println!("token id: {}", token.id);
    println!("token: {}", token.token);
    eprintln!("The token is shown once: store it now. Send it as `Authorization: Bearer <token>`.");
    Ok(())
}

pub async fn token(command: TokenCommand) -> Result<(), Failure> {
    match command {
        TokenCommand::Create {
            org,
            label,
            database,
        } => {
            let db = database.connect().await?;
            let org = named(&db, org).await?;
            let token = organizations::create_token(&db, org, label.as_deref()).await?;
            println!("token id: {}", token.id);
            println!("token: {}", token.token);
            eprintln!("The token is shown once: store it now.");
        }
        TokenCommand::Revoke { token, database } => {
            let db = database.connect().await?;
            let revoked = organizations::revoke_token(&db, &token).await?;
            println!("revoked: {}", revoked.id);
        }
        TokenCommand::List { org, database } => {
            let db = database.connect().await?;
            let org = named(&db, org).await?;
            for token in organizations::list_tokens(&db, org).await? {
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
