//! `GET /template.xlsx` (open to all) and `GET /export.xlsx` (the
//! organization's data in the template's format, so that it imports back).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, organization};
use crate::error::ApiError;
use crate::service;
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
