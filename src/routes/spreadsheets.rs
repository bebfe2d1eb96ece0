//! `GET /template.xlsx` (open to all) and `GET /export.xlsx` (the
//! organization's data in the template's format, so that it imports back).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::graphql::large_place;
use super::{AppState, organization};
use crate::domain::{Lang, global_id};
use crate::error::ApiError;
use crate::import::{ImportLimits, errors_file};
use crate::service;
use crate::service::imports::mapping_from_json;
use crate::spreadsheet;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn xlsx_response(bytes: Vec<u8>, file_name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    (
        [
            (header::CONTENT_TYPE, XLSX.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

pub async fn template() -> Result<Response, ApiError> {
    let bytes = spreadsheet::template().map_err(ApiError::internal)?;
    Ok(xlsx_response(bytes, "gabarit-flokon.xlsx"))
}

/// `GET /imports/{id}/errors.xlsx`: the run's rows in error, as its file
/// had them, with what to fix (French, or English per `Accept-Language`).
/// The organization's own runs only; 404 when the run had no row in error
/// or its file has passed the retention period.
pub async fn errors(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let org = organization(&state.auth, &headers)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let run_id = match global_id::decode(&id) {
        Some((global_id::Kind::ImportRun, uuid)) => uuid,
        _ => return Err(ApiError::NotFound),
    };
    let limits = ImportLimits::from(&state.config.imports);
    let found =
        service::import_reports::errors_source(&state.db, org, run_id, limits.max_rows).await?;
    let (source, errors) = found.ok_or(ApiError::NotFound)?;
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    // Reading the file again costs what its import's reading did.
    let _turn = large_place(&state.large_requests).await?;
    let bytes = tokio::task::spawn_blocking(move || {
        let mapping = mapping_from_json(&source.mapping);
        errors_file::write(&source.bytes, &limits.read, &mapping, &errors, lang)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(xlsx_response(bytes, "erreurs-import.xlsx"))
}

pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let org = organization(&state.auth, &headers)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let bytes = service::export::export(&state.db, org).await?;
    Ok(xlsx_response(bytes, "export-flokon.xlsx"))
}
