//! Bearer tokens → organization. A token is 256 random bits shown once; only
//! its SHA-256 is stored, so the table alone grants nothing.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{api_token, organization};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The organization a request acts for. Every data-access function takes
/// one, so no query can forget the tenant. Made only here: from a verified
/// token ([`Authenticator`]), or from a record the organization owns
/// ([`OrgId::owning`]: the organization itself, which the operator's
/// command line looks up by id, or a job's run claimed from a queue). No
/// code can turn an arbitrary id into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrgId(Uuid);

/// A record read from the database that belongs to one organization.
pub trait Owned {
    fn owner(&self) -> Uuid;
}

impl Owned for organization::Model {
    fn owner(&self) -> Uuid {
        self.id
    }
}

macro_rules! owned_records {
    ($($module:ident),*) => {$(
        impl Owned for entity::$module::Model {
            fn owner(&self) -> Uuid {
                self.organization_id
            }
        }
    )*};
}

owned_records!(import_run, service_point, alert_message);

impl OrgId {
    /// The organization that owns `record`, to act for it.
    pub fn owning(record: &impl Owned) -> OrgId {
        OrgId(record.owner())
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }
}

const TOKEN_PREFIX: &str = "flk_";

/// A new random token and the hash to store.
pub fn generate_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn well_formed(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX) && token.len() <= 100
}

/// The organization of a valid, unrevoked token, by the token's hash.
async fn lookup(db: &DatabaseConnection, hash: &str) -> Result<Option<OrgId>, DbErr> {
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(found.map(|t| OrgId(t.organization_id)))
}

/// Valid tokens seen in the last `ttl`: most requests then skip the token's
/// query (half the statements of a small read). Each instance keeps its
/// own, so a token revoked anywhere stops working everywhere within `ttl`.
/// Unknown tokens are not kept: a token just created works at once.
pub struct Authenticator {
    db: DatabaseConnection,
    ttl: Duration,
    /// Token hash → organization, and when it was checked.
    valid: quick_cache::sync::Cache<String, (OrgId, Instant)>,
}

/// Tokens kept at most: far more than the organizations of one deployment
/// use at once; beyond it the least used are asked about again.
const CACHED_TOKENS: usize = 10_000;

impl Authenticator {
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Authenticator {
        Authenticator {
            db,
            ttl,
            valid: quick_cache::sync::Cache::new(CACHED_TOKENS),
        }
    }

    pub async fn organization(&self, token: &str) -> Result<Option<OrgId>, DbErr> {
        // Malformed tokens cannot match: skip the query.
        if !well_formed(token) {
            return Ok(None);
        }
        let hash = hash_token(token);
        if let Some((org, checked)) = self.valid.get(&hash)
            && checked.elapsed() < self.ttl
        {
            return Ok(Some(org));
        }
        let org = lookup(&self.db, &hash).await?;
        match org {
            Some(org) if !self.ttl.is_zero() => self.valid.insert(hash, (org, Instant::now())),
            _ => {
                self.valid.remove(&hash);
            }
        }
        Ok(org)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, hash_a) = generate_token();
        let (b, _) = generate_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash_a, hash_token(&a));
        assert_eq!(hash_a.len(), 64);
    }

    #[test]
    fn reads_bearer_headers() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
