//! `POST /Bulk` (RFC 7644 §3.7): several operations in one request, each applied through the
//! same code as its single-resource endpoint (and so each in its own transaction — bulk is
//! not atomic, per the RFC). `bulkId:` references in paths and data are resolved to the ids
//! of resources created earlier in the request, whatever their order in the body: an
//! operation waits until the operations it references have run. `failOnErrors` stops
//! processing after that many errors.

use super::ScimClient;
use super::body::{ScimJson, ScimResponse};
use super::error::ScimHttpError;
use super::handlers::request_id;
use super::ops::{
    BULK_MAX_OPERATIONS, Groups, OpContext, OpResult, Projection, ResourceOps, Users,
};
use crate::http::AppState;
use crate::scim::error::ScimError;
use crate::scim::resource::{self, EtagCondition};
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const REFERENCE_PREFIX: &str = "bulkId:";

struct Operation {
    method: String,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Value,
}

pub async fn bulk(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimHttpError> {
    let (operations, fail_on_errors) = parse_request(&body)?;
    let rid = request_id(&headers);
    let ctx = OpContext {
        state: &state,
        client: &client,
        request_id: rid,
    };

    let mut created: HashMap<String, String> = HashMap::new();
    let mut results = Vec::with_capacity(operations.len());
    let mut errors = 0usize;
    for index in execution_order(&operations) {
        if fail_on_errors.is_some_and(|max| errors >= max) {
            break;
        }
        let op = &operations[index];
        let outcome = match resolve(op, &created) {
            Ok((path, data)) => run(&ctx, op, &path, &data).await,
            Err(e) => Err(e.into()),
        };
        let entry = match outcome {
            Ok(result) => {
                if let (Some(bulk_id), Some(location)) = (&op.bulk_id, &result.location)
                    && let Some(id) = location.rsplit('/').next()
                {
                    created.insert(bulk_id.clone(), id.to_owned());
                }
                success_entry(op, &result)
            }
            Err(e) => {
                errors += 1;
                error_entry(op, &e)
            }
        };
        results.push(entry);
    }
    Ok(ScimResponse::ok(json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": results,
    })))
}

fn parse_request(body: &Value) -> Result<(Vec<Operation>, Option<usize>), ScimHttpError> {
    let Some(fields) = body.as_object() else {
        return Err(ScimError::invalid_syntax("a BulkRequest body must be a JSON object").into());
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let declared = get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(BULK_REQUEST_SCHEMA)));
    if !declared {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {BULK_REQUEST_SCHEMA:?}"
        ))
        .into());
    }
    let Some(list) = get("Operations").and_then(Value::as_array) else {
        return Err(ScimError::invalid_syntax("Operations must be a list").into());
    };
    if list.len() > BULK_MAX_OPERATIONS {
        return Err(ScimHttpError::TooManyOperations {
            max: BULK_MAX_OPERATIONS,
        });
    }
    let fail_on_errors = match get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(
                    ScimError::invalid_value("failOnErrors must be a positive integer").into(),
                );
            }
        },
    };
    let mut operations = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(op) = item.as_object() else {
            return Err(
                ScimError::invalid_syntax(format!("Operations[{i}] must be an object")).into(),
            );
        };
        let text = |name: &str| {
            op.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned)
        };
        let (Some(method), Some(path)) = (text("method"), text("path")) else {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}] needs a method and a path"
            ))
            .into());
        };
        let bulk_id = text("bulkId");
        if method.eq_ignore_ascii_case("POST") && bulk_id.is_none() {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: a POST needs a bulkId"
            ))
            .into());
        }
        operations.push(Operation {
            method: method.to_ascii_uppercase(),
            path,
            bulk_id,
            version: text("version"),
            data: op
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("data"))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null),
        });
    }
    Ok((operations, fail_on_errors))
}

/// The bulkIds an operation refers to (in its path or anywhere in its data).
fn references(op: &Operation) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_references(&Value::String(op.path.clone()), &mut out);
    collect_references(&op.data, &mut out);
    out
}

fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            for part in s.split('/') {
                if let Some(id) = part.strip_prefix(REFERENCE_PREFIX) {
                    out.insert(id.to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// The order to run the operations in: an operation runs after the POSTs whose bulkIds it
/// references; otherwise in request order (lowest index first). Operations caught in a
/// reference cycle, or referring to a bulkId nobody defines, run last, in request order, and
/// fail when their references cannot be resolved. O(operations + references).
fn execution_order(operations: &[Operation]) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut definer: HashMap<&str, usize> = HashMap::new();
    for (i, op) in operations.iter().enumerate() {
        if op.method == "POST"
            && let Some(id) = op.bulk_id.as_deref()
        {
            definer.entry(id).or_insert(i);
        }
    }
    let mut waiting_on = vec![0usize; operations.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); operations.len()];
    for (i, op) in operations.iter().enumerate() {
        for reference in references(op) {
            if let Some(&d) = definer.get(reference.as_str())
                && d != i
            {
                waiting_on[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..operations.len())
        .filter(|&i| waiting_on[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(operations.len());
    let mut placed = vec![false; operations.len()];
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        placed[i] = true;
        for &j in &dependents[i] {
            waiting_on[j] -= 1;
            if waiting_on[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    order.extend((0..operations.len()).filter(|&i| !placed[i]));
    order
}

/// The operation's path and data with every `bulkId:` reference replaced by its id.
fn resolve(
    op: &Operation,
    created: &HashMap<String, String>,
) -> Result<(String, Value), ScimError> {
    let path = substitute(&Value::String(op.path.clone()), created)?;
    let data = substitute(&op.data, created)?;
    Ok((path.as_str().unwrap_or_default().to_owned(), data))
}

fn substitute(value: &Value, created: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(s) if s.contains(REFERENCE_PREFIX) => {
            let mut parts = Vec::new();
            for part in s.split('/') {
                match part.strip_prefix(REFERENCE_PREFIX) {
                    Some(id) => parts.push(
                        created
                            .get(id)
                            .cloned()
                            .ok_or_else(|| ScimError::invalid_value(format!("bulkId {id:?} does not name a resource created in this request (or refers back to this operation)")))?,
                    ),
                    None => parts.push(part.to_owned()),
                }
            }
            Value::String(parts.join("/"))
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, created))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k.clone(), substitute(v, created)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

async fn run(
    ctx: &OpContext<'_>,
    op: &Operation,
    path: &str,
    data: &Value,
) -> Result<OpResult, ScimHttpError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["Users"] => run_on::<Users>(ctx, op, None, data).await,
        ["Users", id] => run_on::<Users>(ctx, op, Some(id), data).await,
        ["Groups"] => run_on::<Groups>(ctx, op, None, data).await,
        ["Groups", id] => run_on::<Groups>(ctx, op, Some(id), data).await,
        _ => Err(ScimError::invalid_value(format!("unsupported bulk path {path}")).into()),
    }
}

async fn run_on<R: ResourceOps>(
    ctx: &OpContext<'_>,
    op: &Operation,
    id: Option<&str>,
    data: &Value,
) -> Result<OpResult, ScimHttpError> {
    let if_match = op
        .version
        .as_deref()
        .map(EtagCondition::parse)
        .transpose()?;
    let none = Projection::default();
    match (op.method.as_str(), id) {
        ("POST", None) => R::create(ctx, data, &none).await,
        ("PUT", Some(id)) => R::replace(ctx, id, data, if_match.as_ref(), &none).await,
        ("PATCH", Some(id)) => R::patch(ctx, id, data, if_match.as_ref(), &none).await,
        ("DELETE", Some(id)) => R::delete(ctx, id).await,
        _ => Err(ScimError::invalid_value(format!(
            "unsupported bulk operation {} on {}",
            op.method,
            R::TYPE.name()
        ))
        .into()),
    }
}

fn success_entry(op: &Operation, result: &OpResult) -> Value {
    let mut entry = json!({ "method": op.method, "status": result.status.as_u16().to_string() });
    if let Some(bulk_id) = &op.bulk_id {
        entry["bulkId"] = json!(bulk_id);
    }
    if let Some(location) = &result.location {
        entry["location"] = json!(location);
    }
    if let Some(version) = result.version {
        entry["version"] = json!(resource::etag(version));
    }
    entry
}

fn error_entry(op: &Operation, error: &ScimHttpError) -> Value {
    let mut entry = json!({
        "method": op.method,
        "status": error.status().as_u16().to_string(),
        "response": error.to_json(),
    });
    if let Some(bulk_id) = &op.bulk_id {
        entry["bulkId"] = json!(bulk_id);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, bulk_id: Option<&str>, data: Value) -> Operation {
        Operation {
            method: method.to_owned(),
            path: "/Groups".to_owned(),
            bulk_id: bulk_id.map(str::to_owned),
            version: None,
            data,
        }
    }

    #[test]
    fn references_run_first_and_cycles_run_last() {
        let ops = vec![
            op(
                "POST",
                Some("g"),
                json!({ "members": [{ "value": "bulkId:u1" }, { "value": "bulkId:u2" }] }),
            ),
            op("POST", Some("u1"), json!({})),
            op("POST", Some("u2"), json!({ "x": "bulkId:nobody" })),
            op("POST", Some("a"), json!({ "ref": "bulkId:b" })),
            op("POST", Some("b"), json!({ "ref": "bulkId:a" })),
        ];
        assert_eq!(execution_order(&ops), vec![1, 2, 0, 3, 4]);
    }

    #[test]
    fn many_references_stay_cheap() {
        // 50,000 undefined references and a thousand operations: linear, not quadratic.
        let refs: Vec<Value> = (0..50_000)
            .map(|i| json!({ "value": format!("bulkId:x{i}") }))
            .collect();
        let mut ops = vec![op("PATCH", None, json!({ "members": refs }))];
        ops.extend((0..1_000).map(|i| op("POST", Some(&format!("u{i}")), json!({}))));
        let started = std::time::Instant::now();
        assert_eq!(execution_order(&ops).len(), 1_001);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
