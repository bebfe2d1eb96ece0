//! Opaque global IDs (`base64url("Client:<uuid>")`) and cursors.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{ApiError, Message};

pub use crate::domain::global_id::Kind;

pub fn encode(kind: Kind, id: Uuid) -> ID {
    ID(crate::domain::global_id::encode(kind, id))
}

fn invalid_id() -> ApiError {
    ApiError::BadInput(Message::new("Identifiant (ID) invalide.", "Invalid ID."))
}

/// Any global ID: a malformed one is bad input.
pub fn decode_any(id: &ID) -> Result<(Kind, Uuid), ApiError> {
    crate::domain::global_id::decode(id.as_str()).ok_or_else(invalid_id)
}

/// A global ID of the expected kind. An ID of another kind names nothing of
/// this kind: not found, exactly like an unknown or foreign one.
pub fn decode(id: &ID, expected: Kind) -> Result<Option<Uuid>, ApiError> {
    let (kind, uuid) = decode_any(id)?;
    Ok((kind == expected).then_some(uuid))
}

/// Like [`decode`], for mutations: not found is an error there.
pub fn decode_existing(id: &ID, expected: Kind) -> Result<Uuid, ApiError> {
    decode(id, expected)?.ok_or(ApiError::NotFound)
}

pub fn cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn parse_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| {
            ApiError::BadInput(Message::new(
                "Curseur (after) invalide.",
                "Invalid cursor (after).",
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let uuid = Uuid::now_v7();
        let id = encode(Kind::ServicePoint, uuid);
        assert_eq!(decode_any(&id).unwrap(), (Kind::ServicePoint, uuid));
        assert_eq!(decode(&id, Kind::Client).unwrap(), None);
        assert!(decode_any(&ID("nope!".into())).is_err());
        assert_eq!(parse_cursor(&cursor(uuid)).unwrap(), uuid);
    }
}
