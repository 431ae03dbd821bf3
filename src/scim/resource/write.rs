//! A User's default response (no `attributes`, no `excludedAttributes`) written straight to
//! bytes, without building a `serde_json::Value` tree: the reads IdPs repeat in a loop
//! (`GET /Users/{id}`, `filter=userName eq …`) and the answer to every create or update.
//!
//! The contract is byte equality: [`write_user`] writes exactly what
//! `serde_json::to_vec(&project(render_user(…)))` writes with the default projection, or
//! declines (returns false, having written nothing) where it cannot be sure, and the caller
//! takes that path instead. It declines when the stored JSON is not an object of plain keys
//! (a key with an escape), and when the default projection could change a stored value: an
//! empty object or array inside it (`filter_subs` drops those), or a sub-attribute whose
//! definition says `returned: never` or `request`. Everything else follows `render`'s
//! rules one by one: the stored attributes minus the read-only, write-only and never
//! returned ones, the columns winning, `schemas` from the extension objects, `meta`, and
//! the keys in serde_json's order (sorted, as its `Map` is a `BTreeMap`).
//!
//! Stored text is written as it is. That is equal to re-serialising it only because the
//! `scim` column always holds serde_json's own compact, key-sorted output (the store
//! writes it through `Json<Value>`), which a parse and re-serialisation reproduces; the
//! callers pass stored text only from SQLite, whose column is that text (PostgreSQL's
//! `jsonb` reorders keys). The equality is tested over IdP fixtures and random resources.

use super::normalize::is_urn;
use crate::domain::entities::User;
use crate::scim::definitions::{AttributeDef, Mutability, ResourceType, Returned};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The user's stored SCIM attributes: the database's JSON text, never parsed into a tree,
/// or a parsed value (a write's result, still in memory).
#[derive(Clone, Copy, Debug)]
pub enum StoredScim<'a> {
    Text(&'a str),
    Parsed(&'a Value),
}

/// What the user's columns say; they win over the stored JSON.
#[derive(Clone, Copy, Debug)]
pub struct UserColumns<'a> {
    pub id: &'a str,
    pub user_name: &'a str,
    pub external_id: Option<&'a str>,
    pub active: bool,
    pub version: i64,
    /// `meta.created` and `meta.lastModified` as rendered: RFC 3339, milliseconds, `Z`.
    pub created: &'a str,
    pub last_modified: &'a str,
}

/// A user's `meta.created` and `meta.lastModified`, rendered.
pub struct UserTimes {
    created: String,
    last_modified: String,
}

impl UserTimes {
    pub fn of(user: &User) -> Self {
        let render = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        Self {
            created: render(user.created_at),
            last_modified: render(user.updated_at),
        }
    }
}

impl<'a> UserColumns<'a> {
    /// The columns of a user in memory (a write's result).
    pub fn of(user: &'a User, times: &'a UserTimes) -> Self {
        Self {
            id: user.id.as_str(),
            user_name: &user.user_name,
            external_id: user.external_id.as_deref(),
            active: user.active,
            version: user.version,
            created: &times.created,
            last_modified: &times.last_modified,
        }
    }
}

/// Appends the default response body of a User to `out`; false (and `out` as it was) when
/// the caller must render it through [`super::render_user`] and the projection instead.
/// `groups` are the user's direct groups as `(id, displayName)`; `base_url` ends before
/// `/Users`.
pub fn write_user<I: AsRef<str>, N: AsRef<str>>(
    out: &mut Vec<u8>,
    columns: &UserColumns<'_>,
    scim: StoredScim<'_>,
    groups: &[(I, N)],
    base_url: &str,
) -> bool {
    let start = out.len();
    let written = write(out, columns, scim, groups, base_url).is_some();
    if !written {
        out.truncate(start);
    }
    written
}

/// `meta.created` / `meta.lastModified` from a stored timestamp in the store's fixed-width
/// form (`2026-11-21T10:00:00.123456Z`): its first 23 characters and `Z`, which is what
/// chrono's `to_rfc3339_opts(Millis, true)` writes for that instant (it truncates). `None`
/// for any other form.
pub fn millis_of_stored(text: &str) -> Option<StoredMillis> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape = b.len() == 27
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..26)
        && b[26] == b'Z';
    if !shape {
        return None;
    }
    let mut millis = [b'Z'; 24];
    millis[..23].copy_from_slice(&b[..23]);
    Some(StoredMillis(millis))
}

/// A timestamp from [`millis_of_stored`], in place (no allocation per read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredMillis([u8; 24]);

impl StoredMillis {
    pub fn as_str(&self) -> &str {
        // ASCII digits and separators, checked by `millis_of_stored`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// One value of the stored resource: raw text or a parsed tree.
#[derive(Clone, Copy)]
enum Stored<'a> {
    Raw(&'a RawValue),
    Tree(&'a Value),
}

impl<'a> Stored<'a> {
    fn is_object(self) -> bool {
        match self {
            Self::Raw(raw) => raw.get().starts_with('{'),
            Self::Tree(value) => value.is_object(),
        }
    }

    fn is_container(self) -> bool {
        match self {
            Self::Raw(raw) => raw.get().starts_with(['{', '[']),
            Self::Tree(value) => value.is_object() || value.is_array(),
        }
    }

    /// Whether an empty object or array is anywhere in it (text: also inside a string,
    /// which only makes the caller decline more often).
    fn holds_empty(self) -> bool {
        fn tree(value: &Value) -> bool {
            match value {
                Value::Object(map) => map.is_empty() || map.values().any(tree),
                Value::Array(items) => items.is_empty() || items.iter().any(tree),
                _ => false,
            }
        }
        match self {
            Self::Raw(raw) => raw.get().contains("{}") || raw.get().contains("[]"),
            Self::Tree(value) => tree(value),
        }
    }

    /// An object's members in key order; `None` for anything else or a key with an escape.
    fn members(self) -> Option<Vec<(&'a str, Stored<'a>)>> {
        match self {
            Self::Raw(raw) => raw_members(raw.get()),
            Self::Tree(value) => Some(
                value
                    .as_object()?
                    .iter()
                    .map(|(k, v)| (k.as_str(), Self::Tree(v)))
                    .collect(),
            ),
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        match self {
            Self::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
            Self::Tree(value) => json(out, value),
        }
    }
}

/// One top-level attribute of the response.
enum Field<'a> {
    Stored(Stored<'a>),
    /// An extension object without the members the projection drops.
    Extension(Vec<(&'a str, Stored<'a>)>),
    Text(&'a str),
    Bool(bool),
    Groups,
    Schemas(Vec<&'a str>),
    Meta,
}

/// What the default projection does to one value.
enum Keep {
    Drop,
    AsIs,
}

/// `project_value` in the default mode, for values where it changes nothing or drops the
/// whole value; `None` where it would rewrite the value.
fn default_projection(def: Option<&AttributeDef>, value: Stored<'_>) -> Option<Keep> {
    match def.map_or(Returned::Default, |d| d.returned) {
        Returned::Never | Returned::Request => Some(Keep::Drop),
        Returned::Always => Some(Keep::AsIs),
        Returned::Default if !value.is_container() => Some(Keep::AsIs),
        Returned::Default => {
            let hidden_subs = def.is_some_and(|d| {
                d.sub_attributes
                    .iter()
                    .any(|s| matches!(s.returned, Returned::Never | Returned::Request))
            });
            (!hidden_subs && !value.holds_empty()).then_some(Keep::AsIs)
        }
    }
}

fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing to a Vec cannot fail, and these values have string keys only.
    let _ = serde_json::to_writer(out, value);
}

/// `text` as a JSON string, as serde_json writes it.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    string_contents(out, text);
    out.push(b'"');
}

/// `text` escaped as inside a JSON string: serde_json escapes `"`, `\`, and the control
/// characters below U+0020, nothing else; text without them is copied as it is.
fn string_contents(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(escaped(text).as_bytes());
}

/// `text` as [`string_contents`] writes it: borrowed when nothing needs an escape. For
/// text written more than once (the base URL, a group's id), escaped once.
fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !needs_escape(text.as_bytes()) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut quoted = Vec::with_capacity(text.len() + 8);
    json(&mut quoted, text);
    // serde_json wrote `"…"`; its escapes are ASCII, so the bytes between are UTF-8.
    let inner = quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default();
    std::borrow::Cow::Owned(String::from_utf8_lossy(inner).into_owned())
}

/// Whether `bytes` hold a `"`, a `\\` or a control character below U+0020: eight bytes at a
/// time (the byte-at-a-time test was a tenth of a `GET /Users/{id}`'s instructions).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether a byte of `w` is below `n` (n ≤ 0x80): exact as a yes/no answer.
    fn any_below(w: u64, n: u8) -> bool {
        w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH != 0
    }
    fn any_equal(w: u64, b: u8) -> bool {
        any_below(w ^ (ONES * u64::from(b)), 1)
    }
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_ne_bytes(word);
        if any_below(w, 0x20) || any_equal(w, b'"') || any_equal(w, b'\\') {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// The attributes the server writes itself, in key order (all of them plain ASCII).
const SERVER_KEYS: [&str; 7] = [
    "active",
    "externalId",
    "groups",
    "id",
    "meta",
    "schemas",
    "userName",
];

/// Whether the default projection keeps every attribute the server writes as it is: none
/// of them is `returned: never` or `request`, nor has such a sub-attribute unless it is
/// `returned: always`. True of the published User schema; were a definition to say
/// otherwise, [`write`] would decline and the tree path apply it. (Computed once: the
/// definitions are static.)
static SERVER_FIELDS_AS_IS: LazyLock<bool> = LazyLock::new(|| {
    let def = ResourceType::User.def();
    SERVER_KEYS.iter().all(|key| {
        let Some(attr) = def.top_level(None, key) else {
            return true;
        };
        let hidden = |r: Returned| matches!(r, Returned::Never | Returned::Request);
        !hidden(attr.returned)
            && (attr.returned == Returned::Always
                || !attr.sub_attributes.iter().any(|s| hidden(s.returned)))
    })
});

fn write<I: AsRef<str>, N: AsRef<str>>(
    out: &mut Vec<u8>,
    columns: &UserColumns<'_>,
    scim: StoredScim<'_>,
    groups: &[(I, N)],
    base_url: &str,
) -> Option<()> {
    if !*SERVER_FIELDS_AS_IS {
        return None;
    }
    let rt = ResourceType::User;
    let def = rt.def();
    let base = escaped(base_url.trim_end_matches('/'));

    // render::stored: the stored attributes, without what the server owns or never returns.
    // Keys read from stored text are plain (see `Keys`); a parsed value's may need escapes.
    let (stored, keys) = match scim {
        StoredScim::Text(text) => (raw_members(text)?, Keys::Plain),
        StoredScim::Parsed(value) => (
            Stored::Tree(value).members().unwrap_or_default(),
            Keys::Escaped,
        ),
    };
    let has_groups = !groups.is_empty();
    let mut stored_active = false;
    let mut schemas = vec![rt.schema_urn()];
    // `stored` is in key order, so `kept` is too.
    let mut kept: Vec<(&str, Field<'_>)> = Vec::with_capacity(stored.len() + SERVER_KEYS.len());
    for (key, value) in stored {
        let attr = def.top_level(None, key);
        if key == "schemas"
            || attr.is_some_and(|d| {
                d.mutability == Mutability::ReadOnly
                    || d.mutability == Mutability::WriteOnly
                    || d.returned == Returned::Never
            })
        {
            continue;
        }
        // render_user: the columns win.
        match key {
            "active" => {
                stored_active = true;
                continue;
            }
            "id" | "externalId" | "userName" | "meta" => continue,
            "groups" if has_groups => continue,
            _ => {}
        }
        // render::finish: `schemas` names the extension objects (before the projection).
        if is_urn(key) && value.is_object() {
            schemas.push(key);
            // project_with, default mode, inside the extension.
            let ext = def.extension(key);
            let mut members = Vec::new();
            for (name, member) in value.members()? {
                let member_def = ext.and_then(|e| e.attribute(name));
                if let Keep::AsIs = default_projection(member_def, member)? {
                    members.push((name, member));
                }
            }
            if !members.is_empty() {
                kept.push((key, Field::Extension(members)));
            }
            continue;
        }
        if let Keep::AsIs = default_projection(attr, value)? {
            kept.push((key, Field::Stored(value)));
        }
    }

    // The server's own attributes, in key order (`SERVER_KEYS`), merged into the stored
    // ones'. The projection keeps them as they are (`SERVER_FIELDS_AS_IS`).
    let server = [
        (stored_active || !columns.active).then_some(("active", Field::Bool(columns.active))),
        columns.external_id.map(|e| ("externalId", Field::Text(e))),
        has_groups.then_some(("groups", Field::Groups)),
        Some(("id", Field::Text(columns.id))),
        Some(("meta", Field::Meta)),
        Some(("schemas", Field::Schemas(schemas))),
        Some(("userName", Field::Text(columns.user_name))),
    ];
    let mut fields: Vec<(&str, Field<'_>, Keys)> = Vec::with_capacity(kept.len() + server.len());
    let mut kept = kept.into_iter().peekable();
    for (server_key, field) in server.into_iter().flatten() {
        while let Some((key, stored)) = kept.next_if(|(key, _)| *key < server_key) {
            fields.push((key, stored, keys));
        }
        fields.push((server_key, field, Keys::Plain));
    }
    fields.extend(kept.map(|(key, field)| (key, field, keys)));

    out.reserve(capacity(scim, groups, &base));
    out.push(b'{');
    for (i, (key, field, key_form)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        key_form.write(out, key);
        out.push(b':');
        match field {
            Field::Stored(value) => value.write(out),
            Field::Extension(members) => {
                out.push(b'{');
                for (j, (name, member)) in members.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    key_form.write(out, name);
                    out.push(b':');
                    member.write(out);
                }
                out.push(b'}');
            }
            Field::Text(text) => string(out, text),
            Field::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Field::Groups => write_groups(out, groups, &base),
            Field::Schemas(urns) => json(out, urns),
            Field::Meta => {
                out.extend_from_slice(b"{\"created\":");
                string(out, columns.created);
                out.extend_from_slice(b",\"lastModified\":");
                string(out, columns.last_modified);
                out.extend_from_slice(b",\"location\":\"");
                out.extend_from_slice(base.as_bytes());
                string_contents(out, rt.endpoint());
                out.push(b'/');
                string_contents(out, columns.id);
                out.extend_from_slice(b"\",\"resourceType\":");
                string(out, rt.name());
                // etag(version): W/"<version>", its quotes escaped.
                out.extend_from_slice(b",\"version\":\"W/\\\"");
                out.extend_from_slice(itoa::Buffer::new().format(columns.version).as_bytes());
                out.extend_from_slice(b"\\\"\"}");
            }
        }
    }
    out.push(b'}');
    Some(())
}

/// How an object's keys are written.
#[derive(Clone, Copy)]
enum Keys {
    /// Borrowed from stored JSON text: serde_json lends a key only when it holds no
    /// escape, and JSON text holds no raw `"` or control character, so it is written as it
    /// is (an escape test per key was ≈ 1,500 instructions of a `GET /Users/{id}`).
    Plain,
    /// From a parsed value: escaped like any text.
    Escaped,
}

impl Keys {
    fn write(self, out: &mut Vec<u8>, key: &str) {
        match self {
            Self::Plain => {
                out.push(b'"');
                out.extend_from_slice(key.as_bytes());
                out.push(b'"');
            }
            Self::Escaped => string(out, key),
        }
    }
}

/// The members of the JSON object `text` in serde_json's `Map` order (by key, the last of
/// equal keys kept), values unparsed; `None` when `text` is not an object of plain keys.
/// Stored text is serde_json's own output, already in that order: read into a `Vec` and
/// checked, not built into a `BTreeMap` node by node.
fn raw_members(text: &str) -> Option<Vec<(&str, Stored<'_>)>> {
    struct Members<'a>(Vec<(&'a str, &'a RawValue)>);
    impl<'de> serde::Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                    while let Some(member) = map.next_entry::<&'de str, &'de RawValue>()? {
                        members.push(member);
                    }
                    Ok(Members(members))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    let Members(members) = serde_json::from_str(text).ok()?;
    let members = if members.windows(2).all(|w| w[0].0 < w[1].0) {
        members
    } else {
        // Not this server's writing: as a map reads it.
        members
            .into_iter()
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect()
    };
    Some(
        members
            .into_iter()
            .map(|(k, v)| (k, Stored::Raw(v)))
            .collect(),
    )
}

/// About the bytes [`write`] writes, so that the output grows once: the stored text, the
/// groups, and room for the columns, `schemas` and `meta`.
fn capacity<I: AsRef<str>, N: AsRef<str>>(
    scim: StoredScim<'_>,
    groups: &[(I, N)],
    base: &str,
) -> usize {
    let stored = match scim {
        StoredScim::Text(text) => text.len(),
        StoredScim::Parsed(_) => 512,
    };
    let groups: usize = groups
        .iter()
        .map(|(id, name)| 80 + base.len() + 2 * id.as_ref().len() + name.as_ref().len())
        .sum();
    stored + groups + 512 + 2 * base.len()
}

/// `groups` as `render_user` builds them: `$ref`, `display`, `type`, `value` (key order).
/// `base` is escaped already.
fn write_groups<I: AsRef<str>, N: AsRef<str>>(out: &mut Vec<u8>, groups: &[(I, N)], base: &str) {
    out.push(b'[');
    for (i, (id, display)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let id = escaped(id.as_ref());
        out.extend_from_slice(b"{\"$ref\":\"");
        out.extend_from_slice(base.as_bytes());
        out.extend_from_slice(b"/Groups/");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\",\"display\":");
        string(out, display.as_ref());
        out.extend_from_slice(b",\"type\":\"direct\",\"value\":\"");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.push(b']');
}

/// A ListResponse around resources already written as JSON, byte for byte what
/// `ListResponse::to_json` serialises to.
pub fn write_list_response(
    out: &mut Vec<u8>,
    total_results: u64,
    start_index: u64,
    resources: &[Vec<u8>],
) {
    out.extend_from_slice(b"{\"Resources\":[");
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.extend_from_slice(b"],\"itemsPerPage\":");
    out.extend_from_slice(resources.len().to_string().as_bytes());
    out.extend_from_slice(b",\"schemas\":");
    json(out, &[crate::scim::list::LIST_RESPONSE_SCHEMA]);
    out.extend_from_slice(b",\"startIndex\":");
    out.extend_from_slice(start_index.to_string().as_bytes());
    out.extend_from_slice(b",\"totalResults\":");
    out.extend_from_slice(total_results.to_string().as_bytes());
    out.push(b'}');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
