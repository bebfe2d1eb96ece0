//! The Relay `Node` interface: every type `node(id:)` can return. It
//! names types of every module, so it sits apart from them all.

use async_graphql::{ID, Interface};

use super::alert::{AlertMessage, SectorAlert};
use super::import::ImportRun;
use super::object::{Client, Occupant, ServicePoint};
use super::sector::Sector;
use super::webhook::{WebhookDelivery, WebhookEndpoint};
use super::wording::Reply;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Client(Client),
    ServicePoint(ServicePoint),
    Occupant(Occupant),
    ImportRun(ImportRun),
    Sector(Sector),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
    SectorAlert(SectorAlert),
    AlertMessage(AlertMessage),
    Reply(Reply),
}
