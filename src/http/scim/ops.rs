//! The SCIM operations on Users and Groups, shared by the resource endpoints and `/Bulk`:
//! each takes a parsed body and returns an [`OpResult`] (status, body, version, location)
//! or a [`ScimHttpError`]. The protocol work is in [`crate::scim`], the directory work in
//! [`crate::provision`]; this module only joins them.

use super::ScimClient;
use super::body::Body;
use super::error::ScimHttpError;
use crate::domain::{GroupId, User, UserId};
use crate::http::AppState;
use crate::provision::{self, GroupView, ProvisionError, UserView, WriteContext};
use crate::scim::definitions::ResourceType;
use crate::scim::filter::AttrPath;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::{project, wants_attribute};
use crate::scim::resource::{self, EtagCondition, StoredScim, UserColumns, UserTimes};
use crate::store::UserDoc;
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::Value;

/// `filter.maxResults`: the largest page a list or search returns.
pub const MAX_RESULTS: u64 = 1_000;
/// `bulk.maxOperations`.
pub const BULK_MAX_OPERATIONS: usize = 1_000;

/// What one operation produced.
pub struct OpResult {
    pub status: StatusCode,
    pub body: Option<Body>,
    pub version: Option<i64>,
    pub location: Option<String>,
}

/// `attributes` / `excludedAttributes` of a request, parsed.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    pub attributes: Option<Vec<AttrPath>>,
    pub excluded: Option<Vec<AttrPath>>,
}

impl Projection {
    pub fn apply(&self, resource: &mut Value, rt: ResourceType) {
        project(
            resource,
            self.attributes.as_deref(),
            self.excluded.as_deref(),
            rt,
        );
    }

    /// No `attributes` and no `excludedAttributes` (or empty ones): the defaults.
    pub fn is_default(&self) -> bool {
        self.attributes.as_ref().is_none_or(Vec::is_empty)
            && self.excluded.as_ref().is_none_or(Vec::is_empty)
    }

    pub fn wants(&self, attribute: &str, rt: ResourceType) -> bool {
        wants_attribute(
            &AttrPath::new(attribute),
            self.attributes.as_deref(),
            self.excluded.as_deref(),
            rt,
        )
    }
}

/// Everything an operation needs to know about the request it serves.
pub struct OpContext<'a> {
    pub state: &'a AppState,
    pub client: &'a ScimClient,
    pub request_id: &'a str,
}

impl OpContext<'_> {
    pub fn base_url(&self) -> String {
        self.client.config.server.public_url.join(super::BASE_PATH)
    }

    fn write(&self) -> WriteContext<'_> {
        WriteContext {
            config: &self.client.config,
            policy: &self.client.config.policy,
            connection: &self.client.connection,
            request_id: self.request_id,
            now: Utc::now(),
        }
    }

    fn store(&self) -> &dyn crate::store::Store {
        self.state.store.as_ref()
    }
}

impl From<ProvisionError> for ScimHttpError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Scim(e) => e.into(),
            ProvisionError::Store(e) => e.into(),
            ProvisionError::PreconditionFailed { current } => Self::PreconditionFailed {
                current: resource::etag(current),
            },
            ProvisionError::Forbidden(reason) => Self::Forbidden(reason),
        }
    }
}

fn user_result(
    ctx: &OpContext<'_>,
    view: &UserView,
    status: StatusCode,
    projection: &Projection,
) -> OpResult {
    let base = ctx.base_url();
    OpResult {
        status,
        body: Some(user_body(&view.user, &view.groups, &base, projection)),
        version: Some(view.user.version),
        location: Some(format!("{base}/Users/{}", view.user.id)),
    }
}

/// A User's response body: written directly with the default projection (the answer to
/// nearly every IdP request), else rendered as a tree and projected.
fn user_body(
    user: &User,
    groups: &[(GroupId, String)],
    base: &str,
    projection: &Projection,
) -> Body {
    if projection.is_default() {
        let times = UserTimes::of(user);
        let columns = UserColumns::of(user, &times);
        let mut out = Vec::new();
        if resource::write_user(
            &mut out,
            &columns,
            StoredScim::Parsed(&user.scim),
            groups,
            base,
        ) {
            return Body::Json(out);
        }
    }
    let mut body = resource::render_user(user, groups, base);
    projection.apply(&mut body, ResourceType::User);
    Body::Tree(body)
}

/// A User read by [`crate::store::PointReads`] as its default response body; `None` when
/// the direct writer declines it (the caller reads it again the usual way).
pub fn user_doc_body(doc: &UserDoc, base: &str) -> Option<Vec<u8>> {
    let created = resource::millis_of_stored(&doc.created_at)?;
    let modified = resource::millis_of_stored(&doc.updated_at)?;
    let columns = UserColumns {
        id: doc.id.as_str(),
        user_name: &doc.user_name,
        external_id: doc.external_id.as_deref(),
        active: doc.active,
        version: doc.version,
        created: created.as_str(),
        last_modified: modified.as_str(),
    };
    let mut out = Vec::new();
    resource::write_user(
        &mut out,
        &columns,
        StoredScim::Text(&doc.scim),
        &doc.groups,
        base,
    )
    .then_some(out)
}

fn group_result(
    ctx: &OpContext<'_>,
    view: &GroupView,
    status: StatusCode,
    projection: &Projection,
) -> OpResult {
    let base = ctx.base_url();
    let members: Option<Vec<(UserId, String)>> = view
        .members
        .as_ref()
        .map(|m| m.iter().map(|id| (id.clone(), String::new())).collect());
    let mut body = resource::render_group(&view.group, members.as_deref(), &base);
    projection.apply(&mut body, ResourceType::Group);
    OpResult {
        status,
        body: Some(Body::Tree(body)),
        version: Some(view.group.version),
        location: Some(format!("{base}/Groups/{}", view.group.id)),
    }
}

fn log_ignored(kind: &str, ignored: &[String]) {
    if !ignored.is_empty() {
        tracing::warn!(resource = kind, ignored = ?ignored, "SCIM attributes not in the schema were ignored");
    }
}

pub async fn create_user(
    ctx: &OpContext<'_>,
    body: &Value,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let write = resource::parse_user(body)?;
    log_ignored("User", &write.ignored);
    let view = provision::create_user(ctx.store(), &ctx.write(), write).await?;
    Ok(user_result(ctx, &view, StatusCode::CREATED, projection))
}

pub async fn get_user(
    ctx: &OpContext<'_>,
    id: &str,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let id = UserId::from(id);
    if projection.is_default()
        && let Some(point) = ctx.store().point_reads()
        && let Some(found) = point.user(&id)
    {
        let Some(doc) = found.filter(|d| d.connection == ctx.client.connection) else {
            return Err(provision::not_found("User", id.as_str()).into());
        };
        let base = ctx.base_url();
        if let Some(body) = user_doc_body(&doc, &base) {
            return Ok(OpResult {
                status: StatusCode::OK,
                body: Some(Body::Json(body)),
                version: Some(doc.version),
                // A read's answer has no `Location` (it is `meta.location`), and `/Bulk`
                // has no GET: nothing would read it.
                location: None,
            });
        }
    }
    let view = provision::get_user(ctx.store(), &ctx.client.connection, &id).await?;
    Ok(user_result(ctx, &view, StatusCode::OK, projection))
}

pub async fn replace_user(
    ctx: &OpContext<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&EtagCondition>,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let write = resource::parse_user(body)?;
    log_ignored("User", &write.ignored);
    let view = provision::replace_user(
        ctx.store(),
        &ctx.write(),
        &UserId::from(id),
        write,
        if_match,
    )
    .await?;
    Ok(user_result(ctx, &view, StatusCode::OK, projection))
}

pub async fn patch_user(
    ctx: &OpContext<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&EtagCondition>,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let patch = PatchRequest::parse(body)?;
    let base = ctx.base_url();
    let view = provision::patch_user(
        ctx.store(),
        &ctx.write(),
        &UserId::from(id),
        &patch,
        if_match,
        &base,
    )
    .await?;
    Ok(user_result(ctx, &view, StatusCode::OK, projection))
}

pub async fn delete_user(ctx: &OpContext<'_>, id: &str) -> Result<OpResult, ScimHttpError> {
    provision::delete_user(ctx.store(), &ctx.write(), &UserId::from(id)).await?;
    Ok(no_content())
}

pub async fn create_group(
    ctx: &OpContext<'_>,
    body: &Value,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let write = resource::parse_group(body)?;
    log_ignored("Group", &write.ignored);
    let view = provision::create_group(ctx.store(), &ctx.write(), write).await?;
    Ok(group_result(ctx, &view, StatusCode::CREATED, projection))
}

pub async fn get_group(
    ctx: &OpContext<'_>,
    id: &str,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let with_members = projection.wants("members", ResourceType::Group);
    let view = provision::get_group(
        ctx.store(),
        &ctx.client.connection,
        &GroupId::from(id),
        with_members,
    )
    .await?;
    Ok(group_result(ctx, &view, StatusCode::OK, projection))
}

/// What `GET /Groups/{id}` produced: an ordinary result, or a group with more members than
/// one page, whose members are written into the response body page by page (never all in
/// memory at once).
pub enum GroupRead {
    Whole(OpResult),
    Paged {
        version: i64,
        body: axum::body::Body,
    },
}

/// `GET /Groups/{id}`. A group whose members fill more than one page, asked for without
/// `attributes` or `excludedAttributes`, is answered with the same JSON as
/// [`get_group`], written out one page of members at a time from the read handle that read
/// the group. Everything else (and any error before the first byte) is [`get_group`]'s.
pub async fn read_group(
    ctx: &OpContext<'_>,
    id: &str,
    projection: &Projection,
) -> Result<GroupRead, ScimHttpError> {
    if projection.attributes.is_some()
        || projection.excluded.is_some()
        || !projection.wants("members", ResourceType::Group)
    {
        return get_group(ctx, id, projection).await.map(GroupRead::Whole);
    }
    let (group, first, pages) =
        provision::get_group_paged(ctx.store(), &ctx.client.connection, &GroupId::from(id)).await?;
    if pages.done() {
        let view = GroupView {
            group,
            members: Some(first),
        };
        return Ok(GroupRead::Whole(group_result(
            ctx,
            &view,
            StatusCode::OK,
            projection,
        )));
    }
    let base = ctx.base_url();
    let mut rendered = resource::render_group(&group, None, &base);
    projection.apply(&mut rendered, ResourceType::Group);
    let (head, tail) = resource::group_json_around_members(rendered);
    let mut chunk = head.into_bytes();
    write_members(&mut chunk, &first, &base, true);
    drop(first);
    let rest = futures_util::stream::try_unfold(Some((pages, base, tail)), |state| async move {
        let Some((mut pages, base, tail)) = state else {
            return Ok(None);
        };
        let page = pages.next_page().await.map_err(|e| {
            tracing::error!(error = %e, "reading a group's members failed mid-response");
            std::io::Error::other(e.to_string())
        })?;
        if page.is_empty() {
            return Ok(Some((axum::body::Bytes::from(tail.into_bytes()), None)));
        }
        let mut chunk = Vec::new();
        write_members(&mut chunk, &page, &base, false);
        Ok::<_, std::io::Error>(Some((
            axum::body::Bytes::from(chunk),
            Some((pages, base, tail)),
        )))
    });
    let first = futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(
        axum::body::Bytes::from(chunk),
    )));
    Ok(GroupRead::Paged {
        version: group.version,
        body: axum::body::Body::from_stream(futures_util::StreamExt::chain(first, rest)),
    })
}

/// Members as `render_group` writes them, `,`-separated (`first`: the array's first page).
fn write_members(out: &mut Vec<u8>, ids: &[UserId], base: &str, first: bool) {
    out.reserve(ids.len() * (2 * ids.first().map_or(0, |id| id.as_str().len()) + base.len() + 48));
    for (i, id) in ids.iter().enumerate() {
        if i > 0 || !first {
            out.push(b',');
        }
        resource::write_group_member(out, id, base);
    }
}

pub async fn replace_group(
    ctx: &OpContext<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&EtagCondition>,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let write = resource::parse_group(body)?;
    log_ignored("Group", &write.ignored);
    let (view, _) = provision::replace_group(
        ctx.store(),
        &ctx.write(),
        &GroupId::from(id),
        write,
        if_match,
    )
    .await?;
    Ok(group_result(ctx, &view, StatusCode::OK, projection))
}

/// Group PATCH answers 204: rendering a group would mean reading all of its members, which
/// is what the row-wise membership changes avoid. A client that asks for attributes gets
/// 200 with the group (members only if it asked for them).
pub async fn patch_group(
    ctx: &OpContext<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&EtagCondition>,
    projection: &Projection,
) -> Result<OpResult, ScimHttpError> {
    let patch = PatchRequest::parse(body)?;
    let base = ctx.base_url();
    let gid = GroupId::from(id);
    let (view, _) =
        provision::patch_group(ctx.store(), &ctx.write(), &gid, &patch, if_match, &base).await?;
    if projection.attributes.is_none() && projection.excluded.is_none() {
        let mut result = no_content();
        result.version = Some(view.group.version);
        return Ok(result);
    }
    get_group(ctx, id, projection).await
}

pub async fn delete_group(ctx: &OpContext<'_>, id: &str) -> Result<OpResult, ScimHttpError> {
    provision::delete_group(ctx.store(), &ctx.write(), &GroupId::from(id)).await?;
    Ok(no_content())
}

fn no_content() -> OpResult {
    OpResult {
        status: StatusCode::NO_CONTENT,
        body: None,
        version: None,
        location: None,
    }
}

/// The five operations of a resource type, so that the handlers and `/Bulk` are written once
/// for Users and Groups.
pub trait ResourceOps: Send + Sync + 'static {
    const TYPE: ResourceType;

    fn create<'a>(
        ctx: &'a OpContext<'a>,
        body: &'a Value,
        projection: &'a Projection,
    ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a;

    fn get<'a>(
        ctx: &'a OpContext<'a>,
        id: &'a str,
        projection: &'a Projection,
    ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a;

    fn replace<'a>(
        ctx: &'a OpContext<'a>,
        id: &'a str,
        body: &'a Value,
        if_match: Option<&'a EtagCondition>,
        projection: &'a Projection,
    ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a;

    fn patch<'a>(
        ctx: &'a OpContext<'a>,
        id: &'a str,
        body: &'a Value,
        if_match: Option<&'a EtagCondition>,
        projection: &'a Projection,
    ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a;

    fn delete<'a>(
        ctx: &'a OpContext<'a>,
        id: &'a str,
    ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a;
}

/// `/Users`.
pub struct Users;
/// `/Groups`.
pub struct Groups;

macro_rules! resource_ops {
    ($kind:ty, $rt:expr, $create:ident, $get:ident, $replace:ident, $patch:ident, $delete:ident) => {
        impl ResourceOps for $kind {
            const TYPE: ResourceType = $rt;

            fn create<'a>(
                ctx: &'a OpContext<'a>,
                body: &'a Value,
                projection: &'a Projection,
            ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a {
                $create(ctx, body, projection)
            }

            fn get<'a>(
                ctx: &'a OpContext<'a>,
                id: &'a str,
                projection: &'a Projection,
            ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a {
                $get(ctx, id, projection)
            }

            fn replace<'a>(
                ctx: &'a OpContext<'a>,
                id: &'a str,
                body: &'a Value,
                if_match: Option<&'a EtagCondition>,
                projection: &'a Projection,
            ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a {
                $replace(ctx, id, body, if_match, projection)
            }

            fn patch<'a>(
                ctx: &'a OpContext<'a>,
                id: &'a str,
                body: &'a Value,
                if_match: Option<&'a EtagCondition>,
                projection: &'a Projection,
            ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a {
                $patch(ctx, id, body, if_match, projection)
            }

            fn delete<'a>(
                ctx: &'a OpContext<'a>,
                id: &'a str,
            ) -> impl Future<Output = Result<OpResult, ScimHttpError>> + Send + 'a {
                $delete(ctx, id)
            }
        }
    };
}

resource_ops!(
    Users,
    ResourceType::User,
    create_user,
    get_user,
    replace_user,
    patch_user,
    delete_user
);
resource_ops!(
    Groups,
    ResourceType::Group,
    create_group,
    get_group,
    replace_group,
    patch_group,
    delete_group
);
