//! Records made through the API the way a client makes them.

use serde_json::{Value, json};

use super::app::TestApp;

impl TestApp {
    pub async fn create_client(&self, external_id: &str, name: Option<&str>) -> String {
        let data = self
            .data(
                "mutation($input: CreateClientInput!) { createClient(input: $input) { id } }",
                json!({"input": {"externalId": external_id, "name": name}}),
            )
            .await;
        id_of(&data["createClient"])
    }

    pub async fn create_service_point(&self, client_id: &str, address: Value) -> String {
        self.create_service_point_with(json!({"clientId": client_id, "address": address}))
            .await
    }

    /// A point whose coordinates are given by hand (a `MANUAL` point).
    pub async fn create_located_point(
        &self,
        client_id: &str,
        address: Value,
        latitude: f64,
        longitude: f64,
    ) -> String {
        self.create_service_point_with(json!({
            "clientId": client_id, "address": address, "latitude": latitude, "longitude": longitude
        }))
        .await
    }

    async fn create_service_point_with(&self, input: Value) -> String {
        let data = self
            .data(
                "mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) { id } }",
                json!({"input": input}),
            )
            .await;
        id_of(&data["createServicePoint"])
    }

    pub async fn create_occupant(&self, point_id: &str, phone: &str, method: &str) -> String {
        let data = self
            .data(
                "mutation($input: CreateOccupantInput!) { createOccupant(input: $input) { id } }",
                json!({"input": {"servicePointId": point_id, "phone": phone, "contactMethod": method}}),
            )
            .await;
        id_of(&data["createOccupant"])
    }

    /// A client `external_id` with one point at 1 rue A, Québec: (client, point).
    pub async fn create_client_with_point(&self, external_id: &str) -> (String, String) {
        let client = self.create_client(external_id, None).await;
        let point = self
            .create_service_point(&client, address("1 rue A", "Québec", None))
            .await;
        (client, point)
    }

    /// A client `external_id` with one point at 1 rue A, Québec, and one
    /// occupant there (418-555-0123, by SMS): (client, point, occupant).
    pub async fn create_household(&self, external_id: &str) -> (String, String, String) {
        let (client, point) = self.create_client_with_point(external_id).await;
        let occupant = self.create_occupant(&point, "418-555-0123", "SMS").await;
        (client, point, occupant)
    }

    /// `{ field(id: $id) { id } }`: the record, or null when it is gone or
    /// not ours.
    pub async fn find(&self, field: &str, id: &str) -> Value {
        self.record(field, id, "id").await
    }

    /// `{ field(id: $id) { selection } }` (`client`, `sector`...): the
    /// record's selected fields, or null when it is gone or not ours.
    pub async fn record(&self, field: &str, id: &str, selection: &str) -> Value {
        let data = self
            .data(
                &format!("query($id: ID!) {{ {field}(id: $id) {{ {selection} }} }}"),
                json!({"id": id}),
            )
            .await;
        data[field].clone()
    }

    /// `mutation { field(id: $id) }` (`deleteClient`, `deleteSector`...):
    /// the whole response, errors included.
    pub async fn delete(&self, field: &str, id: &str) -> Value {
        self.graphql(
            &format!("mutation($id: ID!) {{ {field}(id: $id) }}"),
            json!({"id": id}),
        )
        .await
    }
}

fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("id").to_owned()
}

pub fn address(line1: &str, city: &str, postal_code: Option<&str>) -> Value {
    json!({"addressLine1": line1, "city": city, "postalCode": postal_code})
}
