//! Occupants: the people alerted at a service point, one per phone number
//! there; validated here so the manual API and imports agree.

use chrono::Utc;
use entity::{occupant, service_point};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, Set};
use uuid::Uuid;

use super::{clients::Patch, delete_owned, ensure_free, get_owned, on_unique_violation};
use crate::auth::OrgId;
use crate::domain::{
    ContactMethod, Field, Language, MAX_NAME, MAX_NOTES, Phone, ValidationError, optional_text,
};
use crate::service::store::locks;
use crate::service::{ServiceError, require_owned_locked};
use sea_orm::DatabaseConnection;

/// An occupant's fields, validated.
#[derive(Clone, Debug)]
pub struct OccupantFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Phone,
    pub contact_method: ContactMethod,
    pub notes: Option<String>,
    pub language: Language,
}

/// A partial change: `None` keeps a field, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct OccupantPatch<'a> {
    pub first_name: Patch<&'a str>,
    pub last_name: Patch<&'a str>,
    pub phone: Option<&'a str>,
    pub contact_method: Option<ContactMethod>,
    pub notes: Patch<&'a str>,
    pub language: Option<Language>,
}

pub fn first_name(value: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(Field::FirstName, value, MAX_NAME)
}

pub fn last_name(value: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(Field::LastName, value, MAX_NAME)
}

pub fn notes(value: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(Field::Notes, value, MAX_NOTES)
}

pub fn phone(value: &str) -> Result<Phone, ValidationError> {
    Phone::parse(value).map_err(|e| match e {
        crate::domain::PhoneError::Empty => ValidationError::Required {
            field: Field::Phone,
        },
        other => ValidationError::Phone(other),
    })
}

async fn ensure_phone_free(
    db: &impl ConnectionTrait,
    point_id: Uuid,
    phone: &str,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let unique = Condition::all()
        .add(occupant::Column::ServicePointId.eq(point_id))
        .add(occupant::Column::Phone.eq(phone));
    ensure_free::<occupant::Entity>(db, unique, except, || ValidationError::DuplicatePhone {
        phone: phone.to_owned(),
    })
    .await
}

pub async fn create(
    db: &impl ConnectionTrait,
    org: OrgId,
    point_id: Uuid,
    fields: OccupantFields,
) -> Result<occupant::Model, ServiceError> {
    if get_owned::<service_point::Entity>(db, org, point_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::NotFound);
    }
    let phone = fields.phone.formatted();
    ensure_phone_free(db, point_id, &phone, None).await?;
    let now = Utc::now();
    let model = occupant::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.uuid()),
        service_point_id: Set(point_id),
        first_name: Set(fields.first_name),
        last_name: Set(fields.last_name),
        phone: Set(phone.clone()),
        contact_method: Set(fields.contact_method),
        notes: Set(fields.notes),
        language: Set(fields.language),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model
        .insert(db)
        .await
        .map_err(|e| on_unique_violation(e, ValidationError::DuplicatePhone { phone }))
}

pub async fn update(
    db: &DatabaseConnection,
    org: OrgId,
    id: Uuid,
    patch: OccupantPatch<'_>,
) -> Result<occupant::Model, ServiceError> {
    let tx = locks::begin_write(db, org).await?;
    let current = require_owned_locked::<occupant::Entity>(&tx, org, id).await?;
    let next = occupant::Model {
        first_name: match patch.first_name {
            Some(value) => first_name(value)?,
            None => current.first_name.clone(),
        },
        last_name: match patch.last_name {
            Some(value) => last_name(value)?,
            None => current.last_name.clone(),
        },
        phone: match patch.phone {
            Some(value) => phone(value)?.formatted(),
            None => current.phone.clone(),
        },
        contact_method: patch.contact_method.unwrap_or(current.contact_method),
        notes: match patch.notes {
            Some(value) => notes(value)?,
            None => current.notes.clone(),
        },
        language: patch.language.unwrap_or(current.language),
        ..current.clone()
    };
    if next == current {
        return Ok(current);
    }
    if next.phone != current.phone {
        ensure_phone_free(&tx, current.service_point_id, &next.phone, Some(id)).await?;
    }
    let phone = next.phone.clone();
    let mut model: occupant::ActiveModel = current.into();
    model.first_name = Set(next.first_name);
    model.last_name = Set(next.last_name);
    model.phone = Set(next.phone);
    model.contact_method = Set(next.contact_method);
    model.notes = Set(next.notes);
    model.language = Set(next.language);
    model.updated_at = Set(Utc::now());
    let model = model
        .update(&tx)
        .await
        .map_err(|e| on_unique_violation(e, ValidationError::DuplicatePhone { phone }))?;
    tx.commit().await?;
    Ok(model)
}

pub async fn delete(db: &impl ConnectionTrait, org: OrgId, id: Uuid) -> Result<(), ServiceError> {
    delete_owned::<occupant::Entity>(db, org, id).await
}
