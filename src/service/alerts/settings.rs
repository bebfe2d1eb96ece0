//! An organization's sending rules (`alertSettings`): the defaults until it
//! changes one, then its row.

use chrono::{DateTime, Utc};
use entity::alert_settings;
use entity::values::MessageStatus;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};

use crate::auth::OrgId;
use crate::domain::ValidationError;
use crate::messaging::window::{self, HoursError, SendingHours};
use crate::service::ServiceError;
use crate::service::store::locks;
use crate::service::store::tenant::{belongs, owned};

/// The rules of an organization that never changed them.
pub fn defaults(org: OrgId) -> alert_settings::Model {
    alert_settings::Model {
        organization_id: org.uuid(),
        enabled: true,
        send_from: window::DEFAULT_FROM.to_owned(),
        send_until: window::DEFAULT_UNTIL.to_owned(),
        time_zone: window::DEFAULT_ZONE.to_owned(),
        once_per_day: true,
        require_consent: false,
        monthly_segment_limit: None,
        updated_at: DateTime::UNIX_EPOCH,
    }
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId) -> Result<alert_settings::Model, DbErr> {
    Ok(owned::<alert_settings::Entity>(org)
        .one(db)
        .await?
        .unwrap_or_else(|| defaults(org)))
}

/// The sending hours of stored rules (checked when saved).
pub fn hours(rules: &alert_settings::Model) -> SendingHours {
    SendingHours::new(&rules.send_from, &rules.send_until, &rules.time_zone).unwrap_or_else(|_| {
        SendingHours::new(
            window::DEFAULT_FROM,
            window::DEFAULT_UNTIL,
            window::DEFAULT_ZONE,
        )
        .expect("the default hours are valid")
    })
}

/// What `updateAlertSettings` changes: `None` leaves a rule as it is;
/// `monthly_segment_limit: Some(None)` removes the limit.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub enabled: Option<bool>,
    pub send_from: Option<String>,
    pub send_until: Option<String>,
    pub time_zone: Option<String>,
    pub once_per_day: Option<bool>,
    pub require_consent: Option<bool>,
    pub monthly_segment_limit: Option<Option<i32>>,
}

pub async fn update(
    db: &DatabaseConnection,
    org: OrgId,
    change: Change,
    now: DateTime<Utc>,
) -> Result<alert_settings::Model, ServiceError> {
    let tx = locks::begin_write(db, org).await?;
    let mut rules = get(&tx, org).await?;
    let set = |field: &mut String, value: Option<String>| {
        if let Some(value) = value {
            *field = value.trim().to_owned();
        }
    };
    set(&mut rules.send_from, change.send_from);
    set(&mut rules.send_until, change.send_until);
    set(&mut rules.time_zone, change.time_zone);
    SendingHours::new(&rules.send_from, &rules.send_until, &rules.time_zone)
        .map_err(invalid_hours)?;
    if let Some(limit) = change.monthly_segment_limit {
        if limit.is_some_and(|n| n < 0) {
            return Err(invalid(
                "La limite mensuelle de segments ne peut pas être négative.",
                "The monthly segment limit cannot be negative.",
            ));
        }
        rules.monthly_segment_limit = limit;
    }
    rules.enabled = change.enabled.unwrap_or(rules.enabled);
    rules.once_per_day = change.once_per_day.unwrap_or(rules.once_per_day);
    rules.require_consent = change.require_consent.unwrap_or(rules.require_consent);
    rules.updated_at = now;
    let every_rule = [
        alert_settings::Column::Enabled,
        alert_settings::Column::SendFrom,
        alert_settings::Column::SendUntil,
        alert_settings::Column::TimeZone,
        alert_settings::Column::OncePerDay,
        alert_settings::Column::RequireConsent,
        alert_settings::Column::MonthlySegmentLimit,
        alert_settings::Column::UpdatedAt,
    ];
    alert_settings::Entity::insert(rules.clone().into_active_model())
        .on_conflict(
            OnConflict::column(alert_settings::Column::OrganizationId)
                .update_columns(every_rule)
                .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
    tx.commit().await?;
    Ok(rules)
}

fn invalid(fr: &str, en: &str) -> ServiceError {
    ServiceError::Invalid(ValidationError::AlertSettings {
        fr: fr.to_owned(),
        en: en.to_owned(),
    })
}

fn invalid_hours(error: HoursError) -> ServiceError {
    match error {
        HoursError::Time(given) => invalid(
            &format!("Heure « {given} » invalide : format attendu HH:MM (07:00)."),
            &format!("Invalid time \"{given}\": expected HH:MM (07:00)."),
        ),
        HoursError::Zone(given) => invalid(
            &format!("Fuseau horaire « {given} » inconnu : un nom IANA (America/Toronto)."),
            &format!("Unknown time zone \"{given}\": an IANA name (America/Toronto)."),
        ),
    }
}

/// Statuses whose segments are spent (sent, or on their way): what is
/// skipped, canceled or refused by the provider costs nothing.
pub const BILLED: [MessageStatus; 6] = [
    MessageStatus::Scheduled,
    MessageStatus::Queued,
    MessageStatus::Sending,
    MessageStatus::Sent,
    MessageStatus::Delivered,
    MessageStatus::Undelivered,
];

/// SMS segments the organization's messages created since `since` spent.
pub async fn segments_since(
    db: &impl ConnectionTrait,
    org: OrgId,
    since: DateTime<Utc>,
) -> Result<i64, DbErr> {
    use entity::alert_message::{Column, Entity};
    let spent: Option<Option<i64>> = Entity::find()
        .select_only()
        .expr(Expr::cust("CAST(SUM(segments) AS BIGINT)"))
        .filter(belongs::<Entity>(org))
        .filter(Column::CreatedAt.gte(since))
        .filter(Column::Status.is_in(BILLED))
        .into_tuple()
        .one(db)
        .await?;
    Ok(spent.flatten().unwrap_or(0))
}
