//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): the paging and sorting parameters of
//! `GET /Users?…`, the `POST /.search` body, and the `ListResponse` message.
//!
//! Both request forms end as one [`ListQuery`], so the handler that runs a query does not
//! care how it arrived. Paging follows §3.4.2.4: `startIndex` is 1-based and a value below 1
//! means 1; a negative `count` means 0 (return only `totalResults`); a `count` above the
//! configured maximum is lowered to it, and an absent one is the maximum.

use super::error::ScimError;
use super::filter::{AttrPath, Filter};
use super::path::Path;
use super::projection::parse_attribute_list;
use serde_json::{Map, Value, json};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    /// `ascending` or `descending`, in any case.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        if text.eq_ignore_ascii_case("ascending") {
            Ok(Self::Ascending)
        } else if text.eq_ignore_ascii_case("descending") {
            Ok(Self::Descending)
        } else {
            Err(ScimError::invalid_value(format!(
                "sortOrder must be \"ascending\" or \"descending\", not {text:?}"
            )))
        }
    }
}

/// Which page, in which order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based index of the first result.
    pub start_index: u64,
    /// At most this many resources; 0 asks only for `totalResults`.
    pub count: u64,
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
}

impl PageRequest {
    /// The first page of at most `max_results`, unsorted.
    pub fn first(max_results: u64) -> Self {
        Self {
            start_index: 1,
            count: max_results,
            sort_by: None,
            sort_order: SortOrder::Ascending,
        }
    }

    /// How many results to skip (`startIndex - 1`).
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }
}

/// The query parameters of `GET /Users` or `GET /Groups`, as the URL gave them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListParams<'a> {
    pub filter: Option<&'a str>,
    pub attributes: Option<&'a str>,
    pub excluded_attributes: Option<&'a str>,
    pub sort_by: Option<&'a str>,
    pub sort_order: Option<&'a str>,
    pub start_index: Option<&'a str>,
    pub count: Option<&'a str>,
}

/// A list or search request, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub attributes: Option<Vec<AttrPath>>,
    pub excluded_attributes: Option<Vec<AttrPath>>,
    pub page: PageRequest,
}

impl ListQuery {
    /// Reads the query parameters of a GET; `max_results` is `filter.maxResults`.
    pub fn from_params(params: &ListParams<'_>, max_results: u64) -> Result<Self, ScimError> {
        let integer = |name: &str, text: Option<&str>| {
            text.map(|t| parse_integer(name, &Value::from(t.trim())))
                .transpose()
        };
        Ok(Self {
            filter: params
                .filter
                .filter(|f| !f.trim().is_empty())
                .map(Filter::parse)
                .transpose()?,
            attributes: params.attributes.map(parse_attribute_list).transpose()?,
            excluded_attributes: params
                .excluded_attributes
                .map(parse_attribute_list)
                .transpose()?,
            page: page(
                integer("startIndex", params.start_index)?,
                integer("count", params.count)?,
                params.sort_by,
                params.sort_order,
                max_results,
            )?,
        })
    }

    /// Reads a `POST /.search` body (RFC 7644 §3.4.3). Member names are matched
    /// case-insensitively; `attributes` may also be one comma-separated string.
    pub fn from_search_request(body: &Value, max_results: u64) -> Result<Self, ScimError> {
        let Some(fields) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "a SearchRequest body must be a JSON object",
            ));
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| !v.is_null())
        };
        let lists_schema = get("schemas").and_then(Value::as_array).is_some_and(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .any(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
        });
        if !lists_schema {
            return Err(ScimError::invalid_syntax(format!(
                "a SearchRequest must list {SEARCH_REQUEST_SCHEMA} in schemas"
            )));
        }
        let text = |name: &str| -> Result<Option<&str>, ScimError> {
            match get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
            }
        };
        let paths = |name: &str| -> Result<Option<Vec<AttrPath>>, ScimError> {
            match get(name) {
                None => Ok(None),
                Some(Value::String(s)) => parse_attribute_list(s).map(Some),
                Some(Value::Array(items)) => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        let Some(s) = item.as_str() else {
                            return Err(ScimError::invalid_value(format!(
                                "{name} must be an array of strings"
                            )));
                        };
                        out.extend(parse_attribute_list(s)?);
                    }
                    Ok(Some(out))
                }
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{name} must be an array of strings"
                ))),
            }
        };
        Ok(Self {
            filter: text("filter")?
                .filter(|f| !f.trim().is_empty())
                .map(Filter::parse)
                .transpose()?,
            attributes: paths("attributes")?,
            excluded_attributes: paths("excludedAttributes")?,
            page: page(
                get("startIndex")
                    .map(|v| parse_integer("startIndex", v))
                    .transpose()?,
                get("count")
                    .map(|v| parse_integer("count", v))
                    .transpose()?,
                text("sortBy")?,
                text("sortOrder")?,
                max_results,
            )?,
        })
    }
}

fn page(
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    max_results: u64,
) -> Result<PageRequest, ScimError> {
    let sort_by = match sort_by.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match Path::parse(text) {
            Ok(Path::Attribute(attr)) => Some(attr),
            Ok(Path::Filtered { .. }) => {
                return Err(ScimError::invalid_value(format!(
                    "sortBy must name an attribute, not a filter: {text:?}"
                )));
            }
            Err(e) => return Err(e),
        },
    };
    let sort_order = match sort_order.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => SortOrder::parse(text)?,
        None => SortOrder::Ascending,
    };
    Ok(PageRequest {
        start_index: start_index.map_or(1, |i| u64::try_from(i).unwrap_or(0).max(1)),
        count: count.map_or(max_results, |c| {
            u64::try_from(c).unwrap_or(0).min(max_results)
        }),
        sort_by,
        sort_order,
    })
}

/// An integer from JSON or a query string. Digits beyond `i64` saturate rather than fail:
/// a huge `startIndex` simply pages past the end.
fn parse_integer(name: &str, value: &Value) -> Result<i64, ScimError> {
    let bad = || ScimError::invalid_value(format!("{name} must be an integer, not {value}"));
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .ok_or_else(bad),
        Value::String(s) => {
            let s = s.trim();
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            Ok(s.parse::<i64>().unwrap_or(if s.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            }))
        }
        _ => Err(bad()),
    }
}

/// A `ListResponse` (RFC 7644 §3.4.2): one page of resources and the total that matched.
#[derive(Clone, Debug, PartialEq)]
pub struct ListResponse {
    pub total_results: u64,
    pub start_index: u64,
    pub resources: Vec<Value>,
}

impl ListResponse {
    pub fn new(total_results: u64, start_index: u64, resources: Vec<Value>) -> Self {
        Self {
            total_results,
            start_index,
            resources,
        }
    }

    /// Every item at once (discovery endpoints): total = items, from index 1.
    pub fn complete(resources: Vec<Value>) -> Self {
        Self::new(resources.len() as u64, 1, resources)
    }

    /// The JSON body; the counts are JSON integers (Entra rejects strings here).
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), json!([LIST_RESPONSE_SCHEMA]));
        body.insert("totalResults".into(), Value::from(self.total_results));
        body.insert(
            "itemsPerPage".into(),
            Value::from(self.resources.len() as u64),
        );
        body.insert("startIndex".into(), Value::from(self.start_index));
        body.insert("Resources".into(), Value::Array(self.resources.clone()));
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;

    fn params<'a>(start: Option<&'a str>, count: Option<&'a str>) -> ListParams<'a> {
        ListParams {
            start_index: start,
            count,
            ..ListParams::default()
        }
    }

    #[test]
    fn paging_follows_rfc_7644_3_4_2_4() {
        let q = ListQuery::from_params(&params(None, None), 100).unwrap();
        assert_eq!(q.page, PageRequest::first(100));
        let q = ListQuery::from_params(&params(Some("0"), Some("-5")), 100).unwrap();
        assert_eq!((q.page.start_index, q.page.count), (1, 0));
        let q = ListQuery::from_params(&params(Some("-3"), Some("1000")), 100).unwrap();
        assert_eq!((q.page.start_index, q.page.count), (1, 100));
        let q = ListQuery::from_params(&params(Some("11"), Some("10")), 100).unwrap();
        assert_eq!(
            (q.page.start_index, q.page.count, q.page.offset()),
            (11, 10, 10)
        );
        let huge =
            ListQuery::from_params(&params(Some("99999999999999999999999"), None), 100).unwrap();
        assert_eq!(huge.page.start_index, i64::MAX as u64);
        for bad in ["", "abc", "1.5", "--1", "0x10"] {
            let err = ListQuery::from_params(&params(Some(bad), None), 100).unwrap_err();
            assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{bad:?}");
        }
    }

    #[test]
    fn sorting_and_projection_parameters() {
        let q = ListQuery::from_params(
            &ListParams {
                filter: Some(r#"userName eq "ana""#),
                attributes: Some("userName, name.givenName"),
                sort_by: Some("name.familyName"),
                sort_order: Some("DESCENDING"),
                ..ListParams::default()
            },
            50,
        )
        .unwrap();
        assert!(q.filter.is_some());
        assert_eq!(q.attributes.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            q.page.sort_by,
            Some(AttrPath::with_sub("name", "familyName"))
        );
        assert_eq!(q.page.sort_order, SortOrder::Descending);
        let bad = ListParams {
            sort_order: Some("upwards"),
            ..ListParams::default()
        };
        assert!(ListQuery::from_params(&bad, 50).is_err());
        let bad = ListParams {
            sort_by: Some(r#"emails[type eq "work"]"#),
            ..ListParams::default()
        };
        assert!(ListQuery::from_params(&bad, 50).is_err());
        let bad = ListParams {
            filter: Some("userName eq"),
            ..ListParams::default()
        };
        assert_eq!(
            ListQuery::from_params(&bad, 50).unwrap_err().scim_type(),
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn search_request_body() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": [],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1,
            "count": 10,
            "sortBy": "userName",
            "sortOrder": "descending",
        });
        let q = ListQuery::from_search_request(&body, 100).unwrap();
        assert_eq!(q.attributes.as_ref().map(Vec::len), Some(2));
        assert_eq!(q.excluded_attributes, Some(vec![]));
        assert_eq!(q.page.count, 10);
        assert_eq!(q.page.sort_order, SortOrder::Descending);

        let lenient = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA.to_uppercase()],
            "Attributes": "userName,emails",
            "startIndex": "2",
        });
        let q = ListQuery::from_search_request(&lenient, 100).unwrap();
        assert_eq!(q.attributes.as_ref().map(Vec::len), Some(2));
        assert_eq!((q.page.start_index, q.page.count), (2, 100));

        for bad in [
            json!({"filter": "userName pr"}),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}),
            json!([1]),
        ] {
            let err = ListQuery::from_search_request(&bad, 100).unwrap_err();
            assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{bad}");
        }
        let err = ListQuery::from_search_request(
            &json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": "ten"}),
            100,
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
        let err = ListQuery::from_search_request(
            &json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": [1]}),
            100,
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn list_response_uses_integers() {
        let body =
            ListResponse::new(42, 11, vec![json!({"id": "a"}), json!({"id": "b"})]).to_json();
        assert_eq!(body["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert!(body["totalResults"].is_u64());
        assert!(body["itemsPerPage"].is_u64());
        assert!(body["startIndex"].is_u64());
        assert_eq!(body["totalResults"], 42);
        assert_eq!(body["itemsPerPage"], 2);
        assert_eq!(body["startIndex"], 11);
        assert_eq!(body["Resources"].as_array().map(Vec::len), Some(2));
        let empty = ListResponse::complete(vec![]).to_json();
        assert_eq!(empty["totalResults"], 0);
        assert_eq!(empty["Resources"], json!([]));
    }
}
