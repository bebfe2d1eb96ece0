//! What messages say and whether residents want them: the organization's
//! templates, their preview with encoding and cost, consent requests, and
//! the replies residents sent.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::inbound_message;

use super::alert::{Language, SmsEncoding, policy};
use super::connection::{Connection, listed_by_id, page_request, wants_total};
use super::id::{Kind, decode_existing, encode};
use super::object::ContactMethod;
use super::{tenant, writer};
use crate::error::ApiError;
use crate::messaging::segments::Segments;
use crate::service::alerts::consent;
use crate::service::alerts::wording::{self, PreviewRequest, Sender, TemplateView, sms_encoding};
use crate::service::{count, list, organizations, owned};

/// The organization's wording for one channel and language.
#[derive(SimpleObject)]
pub struct MessageTemplate {
    pub channel: ContactMethod,
    pub language: Language,
    /// minijinja; variables: prenom first_name nom last_name adresse
    /// address secteur sector compagnie company date.
    pub body: String,
    /// Ours: the organization has not written its own.
    pub is_default: bool,
}

impl From<TemplateView> for MessageTemplate {
    fn from(view: TemplateView) -> MessageTemplate {
        MessageTemplate {
            channel: view.channel.into(),
            language: view.language.into(),
            body: view.body,
            is_default: view.is_default,
        }
    }
}

#[derive(InputObject)]
pub struct MessageTemplateInput {
    pub channel: ContactMethod,
    pub language: Language,
    /// null (or blank): back to the default.
    pub body: Option<String>,
}

#[derive(InputObject)]
pub struct PreviewMessageInput {
    pub channel: ContactMethod,
    pub language: Language,
    /// A template not saved yet; null: the organization's.
    pub body: Option<String>,
    /// Fill it for this occupant (sample values otherwise).
    pub occupant_id: Option<ID>,
    /// And this sector.
    pub sector_id: Option<ID>,
}

/// A rendered message and what it costs (by SMS).
#[derive(SimpleObject)]
pub struct MessagePreview {
    pub text: String,
    /// SMS only: GSM-7, or UCS-2 as soon as one character is outside it.
    pub encoding: Option<SmsEncoding>,
    pub characters: i32,
    /// SMS only: segments billed (GSM-7: 160 alone, 153 a part; UCS-2:
    /// 70, 67).
    pub segments: Option<i32>,
    /// The text without the accents outside GSM-7 (what
    /// `SMS_TRANSLITERATE=true` sends), when that changes it.
    pub transliterated: Option<String>,
    pub transliterated_segments: Option<i32>,
}

/// A text a resident sent to the sending number, kept for the organization
/// that last wrote to them.
pub struct Reply(pub inbound_message::Model);

listed_by_id! {
    Reply: "ReplyConnection", "ReplyEdge", |reply| reply.0.id;
}

#[Object]
impl Reply {
    pub async fn id(&self) -> ID {
        encode(Kind::Reply, self.0.id)
    }

    /// `418-555-0123`.
    async fn from(&self) -> &str {
        &self.0.from_phone
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    /// What it did: `OPT_OUT`, `OPT_IN`, `ACCEPTED`, `DECLINED`, `HELP`;
    /// null for any other text, which is never acted on.
    async fn keyword(&self) -> Option<&str> {
        self.0.keyword.as_deref()
    }

    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
}

#[derive(Default)]
pub struct WordingQuery;

#[Object]
impl WordingQuery {
    /// SMS and call, French and English: the organization's or ours.
    async fn message_templates(&self, ctx: &Context<'_>) -> Result<Vec<MessageTemplate>, ApiError> {
        let t = tenant(ctx)?;
        let views = wording::list(&t.db, t.org).await?;
        Ok(views.into_iter().map(MessageTemplate::from).collect())
    }

    /// A template rendered for an occupant (or sample values), with its
    /// encoding and cost.
    async fn preview_message(
        &self,
        ctx: &Context<'_>,
        input: PreviewMessageInput,
    ) -> Result<MessagePreview, ApiError> {
        let t = tenant(ctx)?;
        let request = PreviewRequest {
            channel: input.channel.into(),
            language: input.language.into(),
            body: input.body.as_deref(),
            occupant_id: input
                .occupant_id
                .map(|id| decode_existing(&id, Kind::Occupant))
                .transpose()?,
            sector_id: input
                .sector_id
                .map(|id| decode_existing(&id, Kind::Sector))
                .transpose()?,
            now: policy(ctx)?.clock.now(),
        };
        let preview = wording::preview(&t.db, t.org, request).await?;
        let (transliterated, transliterated_cost) = match preview.transliterated {
            Some((text, cost)) => (Some(text), Some(cost)),
            None => (None, None),
        };
        let segments = |cost: Option<Segments>| cost.map(|c| c.segments as i32);
        Ok(MessagePreview {
            characters: preview.text.chars().count() as i32,
            encoding: preview.cost.map(|c| sms_encoding(c.encoding).into()),
            segments: segments(preview.cost),
            text: preview.text,
            transliterated,
            transliterated_segments: segments(transliterated_cost),
        })
    }

    /// What residents texted back, oldest first (deleted after
    /// `IMPORT_RETENTION_DAYS`).
    async fn replies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Reply>, ApiError> {
        let t = tenant(ctx)?;
        let page = page_request(ctx, first, after)?;
        let select = owned::<inbound_message::Entity>(t.org);
        let replies = list(&t.db, select.clone(), page).await?;
        let total = match wants_total(ctx) {
            true => count(&t.db, select).await?,
            false => 0,
        };
        Ok(Connection::new(replies.map(Reply), total))
    }
}

#[derive(Default)]
pub struct WordingMutation;

#[Object]
impl WordingMutation {
    /// Saves the organization's template for a channel and language
    /// (checked first: `BAD_USER_INPUT` with where, and nothing saved, for
    /// a syntax error, an unknown variable or a message too long); a null
    /// body goes back to the default.
    async fn update_message_template(
        &self,
        ctx: &Context<'_>,
        input: MessageTemplateInput,
    ) -> Result<MessageTemplate, ApiError> {
        let t = writer(ctx)?;
        let now = policy(ctx)?.clock.now();
        let view = wording::save(
            &t.db,
            t.org,
            input.channel.into(),
            input.language.into(),
            input.body.as_deref(),
            now,
        )
        .await?;
        Ok(view.into())
    }

    /// Sends the confirmation SMS ("Répondez OUI...") to these occupants'
    /// phones, one per phone; returns how many will leave (opted-out and
    /// already-accepted phones skipped). At most 1,000 ids.
    async fn request_consent(
        &self,
        ctx: &Context<'_>,
        occupant_ids: Vec<ID>,
    ) -> Result<i32, ApiError> {
        let t = writer(ctx)?;
        consent::check_size(occupant_ids.len())?;
        let ids = occupant_ids
            .iter()
            .map(|id| decode_existing(id, Kind::Occupant))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = policy(ctx)?;
        let company = organizations::name(&t.db, t.org.uuid())
            .await?
            .unwrap_or_default();
        let sender = Sender {
            company: &company,
            transliterate: policy.transliterate,
        };
        let sent = consent::request(&t.db, t.org, &ids, sender, policy.clock.now()).await?;
        Ok(sent as i32)
    }
}
