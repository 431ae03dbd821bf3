//! The axum handlers of `/scim/v2`: each reads the request (token, query, headers, body),
//! calls one operation of [`super::ops`] or a listing, and writes the SCIM response.

use super::ScimClient;
use super::body::{ScimJson, ScimResponse};
use super::error::ScimHttpError;
use super::ops::{GroupRead, MAX_RESULTS, OpContext, OpResult, Projection, ResourceOps};
use crate::http::{AppState, REQUEST_ID_HEADER};
use crate::scim::definitions::ResourceType;
use crate::scim::error::ScimError;
use crate::scim::list::{ListParams, ListQuery, ListResponse, SortOrder};
use crate::scim::projection::parse_attribute_list;
use crate::scim::resource::{self, EtagCondition};
use crate::store::ScimListQuery;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use serde_json::Value;
use std::collections::HashMap;

pub(super) fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

/// Query parameters by name (the last value wins); never fails on odd encodings.
pub(super) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn projection_of(query: &HashMap<String, String>) -> Result<Projection, ScimHttpError> {
    Ok(Projection {
        attributes: query
            .get("attributes")
            .map(|a| parse_attribute_list(a))
            .transpose()?,
        excluded: query
            .get("excludedAttributes")
            .map(|a| parse_attribute_list(a))
            .transpose()?,
    })
}

fn condition(
    headers: &HeaderMap,
    name: header::HeaderName,
) -> Result<Option<EtagCondition>, ScimHttpError> {
    match headers.get(&name) {
        None => Ok(None),
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ScimError::invalid_syntax(format!("{name} is not readable text")))?;
            Ok(Some(EtagCondition::parse(text)?))
        }
    }
}

fn respond(result: OpResult) -> ScimResponse {
    let etag = result.version.map(resource::etag);
    let mut response = match (result.body, result.location) {
        (Some(body), Some(location)) if result.status == axum::http::StatusCode::CREATED => {
            ScimResponse::created(body, location)
        }
        (Some(body), _) => {
            let mut r = ScimResponse::ok(body);
            r.status = result.status;
            r
        }
        (None, _) => ScimResponse::no_content(),
    };
    response.etag = etag;
    response
}

fn context<'a>(state: &'a AppState, client: &'a ScimClient, request_id: &'a str) -> OpContext<'a> {
    OpContext {
        state,
        client,
        request_id,
    }
}

// ---- Users and Groups: one set of handlers, generic over the resource type ----

pub async fn create<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimHttpError> {
    let rid = request_id(&headers);
    let ctx = context(&state, &client, rid);
    let projection = projection_of(&query_map(raw.as_deref()))?;
    R::create(&ctx, &body, &projection).await.map(respond)
}

pub async fn get<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<ScimResponse, ScimHttpError> {
    let rid = request_id(&headers);
    let ctx = context(&state, &client, rid);
    let projection = projection_of(&query_map(raw.as_deref()))?;
    let result = R::get(&ctx, &id, &projection).await?;
    not_modified_or(&headers, result)
}

pub async fn replace<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimHttpError> {
    let rid = request_id(&headers);
    let ctx = context(&state, &client, rid);
    let projection = projection_of(&query_map(raw.as_deref()))?;
    let if_match = condition(&headers, header::IF_MATCH)?;
    R::replace(&ctx, &id, &body, if_match.as_ref(), &projection)
        .await
        .map(respond)
}

pub async fn patch<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimHttpError> {
    let rid = request_id(&headers);
    let ctx = context(&state, &client, rid);
    let projection = projection_of(&query_map(raw.as_deref()))?;
    let if_match = condition(&headers, header::IF_MATCH)?;
    R::patch(&ctx, &id, &body, if_match.as_ref(), &projection)
        .await
        .map(respond)
}

pub async fn delete<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimHttpError> {
    let rid = request_id(&headers);
    let ctx = context(&state, &client, rid);
    R::delete(&ctx, &id).await.map(respond)
}

/// `GET /Groups/{id}`: as [`get`], but a group with many members has them written into the
/// body page by page ([`super::ops::read_group`]).
pub async fn get_group(
    client: ScimClient,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<axum::response::Response, ScimHttpError> {
    use axum::response::IntoResponse;
    let rid = request_id(&headers);
    let ctx = context(&state, &client, rid);
    let projection = projection_of(&query_map(raw.as_deref()))?;
    match super::ops::read_group(&ctx, &id, &projection).await? {
        GroupRead::Whole(result) => {
            not_modified_or(&headers, result).map(IntoResponse::into_response)
        }
        GroupRead::Paged { version, body } => {
            let etag = resource::etag(version);
            if let Some(cond) = condition(&headers, header::IF_NONE_MATCH)?
                && cond.matches(version)
            {
                return Ok(ScimResponse::not_modified(etag).into_response());
            }
            let mut response = axum::response::Response::new(body);
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(super::error::SCIM_CONTENT_TYPE),
            );
            if let Ok(etag) = header::HeaderValue::from_str(&etag) {
                headers.insert(header::ETAG, etag);
            }
            Ok(response)
        }
    }
}

/// `If-None-Match` on a read: 304 when the client already has this version.
fn not_modified_or(headers: &HeaderMap, result: OpResult) -> Result<ScimResponse, ScimHttpError> {
    if let (Some(cond), Some(version)) =
        (condition(headers, header::IF_NONE_MATCH)?, result.version)
        && cond.matches(version)
    {
        return Ok(ScimResponse::not_modified(resource::etag(version)));
    }
    Ok(respond(result))
}

// ---- Lists and searches ----

pub async fn list<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<ScimResponse, ScimHttpError> {
    let query = list_query(raw.as_deref())?;
    if let Some(body) = point_list(&state, &client, R::TYPE, &query)? {
        return Ok(ScimResponse::ok(body));
    }
    let (total, resources) = run_list(&state, &client, R::TYPE, &query).await?;
    Ok(ScimResponse::ok(
        ListResponse::new(total, query.page.start_index, resources).to_json(),
    ))
}

pub async fn search<R: ResourceOps>(
    client: ScimClient,
    State(state): State<AppState>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimHttpError> {
    let query = ListQuery::from_search_request(&body, MAX_RESULTS)?;
    if let Some(body) = point_list(&state, &client, R::TYPE, &query)? {
        return Ok(ScimResponse::ok(body));
    }
    let (total, resources) = run_list(&state, &client, R::TYPE, &query).await?;
    Ok(ScimResponse::ok(
        ListResponse::new(total, query.page.start_index, resources).to_json(),
    ))
}

/// `POST /.search` across both resource types: Users first, then Groups, paged over the
/// concatenation. A filter must make sense for both (attributes one type lacks match nothing).
pub async fn search_all(
    client: ScimClient,
    State(state): State<AppState>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ScimHttpError> {
    let query = ListQuery::from_search_request(&body, MAX_RESULTS)?;
    let mut users_only = query.clone();
    users_only.page.count = 0;
    let (user_total, _) = run_list(&state, &client, ResourceType::User, &users_only).await?;
    let offset = query.page.offset();
    let mut resources = Vec::new();
    let mut group_query = query.clone();
    if offset < user_total {
        let (_, users) = run_list(&state, &client, ResourceType::User, &query).await?;
        resources.extend(users);
        group_query.page.start_index = 1;
    } else {
        group_query.page.start_index = offset - user_total + 1;
    }
    group_query.page.count = query.page.count.saturating_sub(resources.len() as u64);
    let (group_total, groups) =
        run_list(&state, &client, ResourceType::Group, &group_query).await?;
    resources.extend(groups);
    Ok(ScimResponse::ok(
        ListResponse::new(user_total + group_total, query.page.start_index, resources).to_json(),
    ))
}

/// The most groups one list page returns when it includes their members.
const GROUP_PAGE_WITH_MEMBERS: u32 = 100;

fn list_query(raw: Option<&str>) -> Result<ListQuery, ScimHttpError> {
    let q = query_map(raw);
    let params = ListParams {
        filter: q.get("filter").map(String::as_str),
        attributes: q.get("attributes").map(String::as_str),
        excluded_attributes: q.get("excludedAttributes").map(String::as_str),
        sort_by: q.get("sortBy").map(String::as_str),
        sort_order: q.get("sortOrder").map(String::as_str),
        start_index: q.get("startIndex").map(String::as_str),
        count: q.get("count").map(String::as_str),
    };
    Ok(ListQuery::from_params(&params, MAX_RESULTS)?)
}

fn list_projection(query: &ListQuery) -> Projection {
    Projection {
        attributes: query.attributes.clone(),
        excluded: query.excluded_attributes.clone(),
    }
}

fn store_query(client: &ScimClient, query: &ListQuery) -> ScimListQuery {
    ScimListQuery {
        connection: client.connection.clone(),
        filter: query.filter.clone(),
        sort_by: query.page.sort_by.clone(),
        descending: query.page.sort_order == SortOrder::Descending,
        start_index: query.page.start_index,
        count: u32::try_from(query.page.count).unwrap_or(u32::MAX),
    }
}

/// A Users list answered by a point read and written directly: a filter on a unique key
/// (`userName eq "…"`, as Okta and Entra send before every create), the default
/// attributes, no `sortBy`, on an engine with point reads. `None`: take [`run_list`].
/// The body is byte for byte what `run_list` would answer.
fn point_list(
    state: &AppState,
    client: &ScimClient,
    rt: ResourceType,
    query: &ListQuery,
) -> Result<Option<super::body::Body>, ScimHttpError> {
    let (Some(point), Some(filter)) = (state.store.point_reads(), &query.filter) else {
        return Ok(None);
    };
    if rt != ResourceType::User
        || !list_projection(query).is_default()
        || query.page.sort_by.is_some()
    {
        return Ok(None);
    }
    crate::scim::filter::validate(filter, &crate::scim::schema::CoreSchema)?;
    let Some(page) = point.users(&store_query(client, query), true) else {
        return Ok(None);
    };
    let base = client.config.server.public_url.join(super::BASE_PATH);
    let mut resources = Vec::with_capacity(page.items.len());
    for doc in &page.items {
        match super::ops::user_doc_body(doc, &base) {
            Some(body) => resources.push(body),
            None => return Ok(None),
        }
    }
    let mut out = Vec::with_capacity(64 + resources.iter().map(Vec::len).sum::<usize>());
    resource::write_list_response(
        &mut out,
        page.total_results,
        query.page.start_index,
        &resources,
    );
    Ok(Some(super::body::Body::Json(out)))
}

/// Runs a list in the database and renders the page.
async fn run_list(
    state: &AppState,
    client: &ScimClient,
    rt: ResourceType,
    query: &ListQuery,
) -> Result<(u64, Vec<Value>), ScimHttpError> {
    if let Some(filter) = &query.filter {
        crate::scim::filter::validate(filter, &crate::scim::schema::CoreSchema)?;
    }
    let projection = list_projection(query);
    let store_query = store_query(client, query);
    let base = client.config.server.public_url.join(super::BASE_PATH);
    let mut read = state.store.read().await?;
    match rt {
        ResourceType::User => {
            // Each user's groups come in the same statement as the page.
            let page = if projection.wants("groups", rt) {
                read.scim_list_users_with_groups(&store_query).await?
            } else {
                let page = read.scim_list_users(&store_query).await?;
                crate::store::ScimPage {
                    total_results: page.total_results,
                    items: page.items.into_iter().map(|u| (u, Vec::new())).collect(),
                }
            };
            let mut out = Vec::with_capacity(page.items.len());
            for (user, groups) in page.items {
                let mut r = resource::render_user(&user, &groups, &base);
                projection.apply(&mut r, rt);
                out.push(r);
            }
            Ok((page.total_results, out))
        }
        ResourceType::Group => {
            let with_members = projection.wants("members", rt);
            let mut store_query = store_query;
            if with_members {
                // Each group brings all of its members: keep such pages small (a client sees
                // itemsPerPage and pages on; `excludedAttributes=members` lifts the cap).
                store_query.count = store_query.count.min(GROUP_PAGE_WITH_MEMBERS);
            }
            let page = read.scim_list_groups(&store_query).await?;
            let mut out = Vec::with_capacity(page.items.len());
            for group in page.items {
                let members = if with_members {
                    let ids = crate::provision::group_members(read.as_mut(), &group.id).await?;
                    Some(
                        ids.into_iter()
                            .map(|id| (id, String::new()))
                            .collect::<Vec<_>>(),
                    )
                } else {
                    None
                };
                let mut r = resource::render_group(&group, members.as_deref(), &base);
                projection.apply(&mut r, rt);
                out.push(r);
            }
            Ok((page.total_results, out))
        }
    }
}
