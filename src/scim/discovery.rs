//! The discovery documents of RFC 7644 §4: `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas` (RFC 7643 §5–§7), built from [`super::definitions`] and a few settings.
//!
//! `GET /Schemas` and `GET /ResourceTypes` answer with a `ListResponse` (RFC 7644 §4);
//! `GET /Schemas/{urn}` and `GET /ResourceTypes/{name}` with the single document, and
//! `/ServiceProviderConfig` is never a list. Every document carries `meta.resourceType`
//! and `meta.location` (absolute, from `base_url`).

use super::definitions::{AttributeDef, ResourceType, SCHEMAS, SchemaDef};
use super::list::ListResponse;
use serde_json::{Map, Value, json};

pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What `/ServiceProviderConfig` advertises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// The SCIM base, e.g. `https://sync.acme.com/scim/v2` (a trailing `/` is ignored).
    pub base_url: String,
    /// `bulk.maxOperations`; 0 advertises bulk as unsupported.
    pub bulk_max_operations: u64,
    /// `bulk.maxPayloadSize` in bytes.
    pub bulk_max_payload_size: u64,
    /// `filter.maxResults`: the largest page a list or search returns.
    pub filter_max_results: u64,
    /// Where operators read about the SCIM endpoint, if anywhere.
    pub documentation_uri: Option<String>,
}

impl DiscoverySettings {
    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// `GET /ServiceProviderConfig` (RFC 7643 §5).
pub fn service_provider_config(settings: &DiscoverySettings) -> Value {
    let supported = |yes: bool| json!({ "supported": yes });
    let mut doc = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": supported(true),
        "bulk": {
            "supported": settings.bulk_max_operations > 0,
            "maxOperations": settings.bulk_max_operations,
            "maxPayloadSize": settings.bulk_max_payload_size,
        },
        "filter": {"supported": true, "maxResults": settings.filter_max_results},
        "changePassword": supported(false),
        "sort": supported(true),
        "etag": supported(true),
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token in the Authorization header; it selects the connection.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", settings.base()),
        },
    });
    if let (Some(uri), Some(object)) = (&settings.documentation_uri, doc.as_object_mut()) {
        object.insert("documentationUri".into(), Value::from(uri.as_str()));
    }
    doc
}

/// `GET /ResourceTypes`: a ListResponse of every resource type.
pub fn resource_types(settings: &DiscoverySettings) -> Value {
    let all = ResourceType::ALL
        .iter()
        .map(|t| resource_type(*t, settings))
        .collect();
    ListResponse::complete(all).to_json()
}

/// `GET /ResourceTypes/{name}`; `None` (404) for a name we don't serve. Names compare
/// case-insensitively.
pub fn resource_type_by_name(name: &str, settings: &DiscoverySettings) -> Option<Value> {
    ResourceType::ALL
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(name))
        .map(|t| resource_type(t, settings))
}

fn resource_type(resource_type: ResourceType, settings: &DiscoverySettings) -> Value {
    let def = resource_type.def();
    let extensions: Vec<Value> = def
        .extensions
        .iter()
        .map(|(schema, required)| json!({"schema": schema.id, "required": required}))
        .collect();
    let mut doc = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": def.name,
        "name": def.name,
        "endpoint": def.endpoint,
        "description": def.description,
        "schema": def.schema.id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", settings.base(), def.name),
        },
    });
    if let (false, Some(object)) = (extensions.is_empty(), doc.as_object_mut()) {
        object.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    doc
}

/// `GET /Schemas`: a ListResponse of every schema with its attributes.
pub fn schemas(settings: &DiscoverySettings) -> Value {
    ListResponse::complete(SCHEMAS.iter().map(|s| schema(s, settings)).collect()).to_json()
}

/// `GET /Schemas/{urn}`; `None` (404) for a URN we don't publish.
pub fn schema_by_id(id: &str, settings: &DiscoverySettings) -> Option<Value> {
    SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema(s, settings))
}

fn schema(schema: &SchemaDef, settings: &DiscoverySettings) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", settings.base(), schema.id),
        },
    })
}

/// One attribute as RFC 7643 §7 writes it.
fn attribute(def: &AttributeDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), Value::from(def.name));
    out.insert("type".into(), Value::from(def.kind.as_str()));
    out.insert("multiValued".into(), Value::Bool(def.multi_valued));
    out.insert("description".into(), Value::from(def.description));
    out.insert("required".into(), Value::Bool(def.required));
    if !def.sub_attributes.is_empty() {
        let subs = def.sub_attributes.iter().map(attribute).collect();
        out.insert("subAttributes".into(), Value::Array(subs));
    } else {
        out.insert("caseExact".into(), Value::Bool(def.case_exact));
    }
    if !def.canonical_values.is_empty() {
        out.insert("canonicalValues".into(), json!(def.canonical_values));
    }
    if !def.reference_types.is_empty() {
        out.insert("referenceTypes".into(), json!(def.reference_types));
    }
    out.insert("mutability".into(), Value::from(def.mutability.as_str()));
    out.insert("returned".into(), Value::from(def.returned.as_str()));
    out.insert("uniqueness".into(), Value::from(def.uniqueness.as_str()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::list::LIST_RESPONSE_SCHEMA;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    fn settings() -> DiscoverySettings {
        DiscoverySettings {
            base_url: "https://sync.acme.com/scim/v2/".into(),
            bulk_max_operations: 1000,
            bulk_max_payload_size: 1_048_576,
            filter_max_results: 200,
            documentation_uri: None,
        }
    }

    #[test]
    fn service_provider_config_advertises_what_we_do() {
        let doc = service_provider_config(&settings());
        assert_eq!(doc["schemas"], json!([SERVICE_PROVIDER_CONFIG_SCHEMA]));
        assert_eq!(doc["patch"]["supported"], true);
        assert_eq!(
            doc["bulk"],
            json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576})
        );
        assert_eq!(doc["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(doc["changePassword"]["supported"], false);
        assert_eq!(doc["sort"]["supported"], true);
        assert_eq!(doc["etag"]["supported"], true);
        assert_eq!(doc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(doc["authenticationSchemes"][0]["primary"], true);
        assert_eq!(
            doc["meta"]["location"],
            "https://sync.acme.com/scim/v2/ServiceProviderConfig"
        );
        assert!(doc.get("documentationUri").is_none());
        let mut off = settings();
        off.bulk_max_operations = 0;
        off.documentation_uri = Some("https://docs.acme.com/scim".into());
        let doc = service_provider_config(&off);
        assert_eq!(doc["bulk"]["supported"], false);
        assert_eq!(doc["documentationUri"], "https://docs.acme.com/scim");
    }

    #[test]
    fn resource_types_list() {
        let list = resource_types(&settings());
        assert_eq!(list["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert_eq!(list["totalResults"], 2);
        let user = &list["Resources"][0];
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schema"], USER_SCHEMA);
        assert_eq!(
            user["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}])
        );
        assert_eq!(user["meta"]["resourceType"], "ResourceType");
        assert_eq!(
            user["meta"]["location"],
            "https://sync.acme.com/scim/v2/ResourceTypes/User"
        );
        let group = resource_type_by_name("group", &settings()).unwrap();
        assert_eq!(group["schema"], GROUP_SCHEMA);
        assert!(group.get("schemaExtensions").is_none());
        assert!(resource_type_by_name("Device", &settings()).is_none());
    }

    #[test]
    fn schemas_list_every_attribute_with_its_characteristics() {
        let list = schemas(&settings());
        assert_eq!(list["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert_eq!(list["totalResults"], 3);
        let ids: Vec<&Value> = list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["id"])
            .collect();
        assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
        let user = schema_by_id(&USER_SCHEMA.to_lowercase(), &settings()).unwrap();
        assert_eq!(user["meta"]["resourceType"], "Schema");
        assert_eq!(
            user["meta"]["location"],
            format!("https://sync.acme.com/scim/v2/Schemas/{USER_SCHEMA}")
        );
        let find = |doc: &Value, name: &str| {
            doc["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            find(&user, "userName"),
            json!({
                "name": "userName", "type": "string", "multiValued": false,
                "description": "Unique identifier for the User, used to authenticate; unique per service provider.",
                "required": true, "caseExact": false, "mutability": "readWrite",
                "returned": "default", "uniqueness": "server"
            })
        );
        let password = find(&user, "password");
        assert_eq!(
            (&password["mutability"], &password["returned"]),
            (&json!("writeOnly"), &json!("never"))
        );
        let emails = find(&user, "emails");
        assert_eq!(emails["multiValued"], true);
        assert_eq!(
            emails["subAttributes"][2]["canonicalValues"],
            json!(["work", "home", "other"])
        );
        let groups = find(&user, "groups");
        assert_eq!(groups["mutability"], "readOnly");
        let group = schema_by_id(GROUP_SCHEMA, &settings()).unwrap();
        let members = find(&group, "members");
        assert_eq!(members["mutability"], "readWrite");
        assert_eq!(
            members["subAttributes"][1]["referenceTypes"],
            json!(["User", "Group"])
        );
        let ent = schema_by_id(ENTERPRISE_USER_SCHEMA, &settings()).unwrap();
        let manager = find(&ent, "manager");
        assert_eq!(manager["subAttributes"].as_array().map(Vec::len), Some(3));
        assert!(schema_by_id("urn:nope", &settings()).is_none());
    }
}
