//! SCIM filters (and `sortBy`) as SQL over the `users` and `idp_groups` tables, with the
//! semantics of the in-memory evaluator [`crate::scim::filter::matches`] — the property
//! test in `tests/it/scim_sql.rs` runs both on random data and filters, on both engines.
//!
//! # What a filter is evaluated against
//! The SCIM resource as [`user_view`] / [`group_view`] build it: for users the stored
//! `scim` JSON with the typed columns laid over it (they are authoritative: `id`,
//! `userName`, `externalId`, `active`, `name.givenName`, `name.familyName`,
//! `meta.created`, `meta.lastModified`, and `groups` from the membership rows); for groups
//! the typed columns and `members` from the membership rows. The SCIM layer's rendering
//! must agree on those attributes.
//!
//! # How attributes become SQL
//! Indexed columns first, so the queries IdPs send in a loop stay index lookups:
//! `userName` → `user_name_key` with the value lowercased in Rust by the same function that
//! fills the column (`(connection, user_name_key)` unique index); `externalId`, `id`;
//! `active`; `meta.created`/`meta.lastModified` → `created_at`/`updated_at`;
//! `name.givenName`/`name.familyName`; group `displayName` → `display_name_key`;
//! `members[.value]` and user `groups[.value]` → `EXISTS` on `group_members` (primary key
//! lookups; ids are lowercase UUIDs, so the lowercased value is compared as is). Every
//! other user attribute (user `displayName`, whose column may hold `name.formatted`,
//! `title`, `emails`, extension attributes …) is read from the JSON; multi-valued
//! attributes (`emails`, `phoneNumbers`, …) through `json_each`/`jsonb_array_elements`.
//! A group attribute without a column is absent.
//!
//! Every predicate is two-valued (never SQL NULL), so `not (…)` negates exactly.
//!
//! # Known differences from the evaluator (documented, not tested)
//! - Case folding: the evaluator lowercases with Rust's full Unicode rules. Key columns
//!   (`userName`, group `displayName`) agree exactly; other case-insensitive comparisons
//!   use SQL `lower()` on both sides, which folds only ASCII on SQLite (and follows the
//!   database's ctype on PostgreSQL): `É` and `é` match in memory but not on SQLite.
//! - Shapes that contradict the schema: a multi-valued value where a single one is
//!   expected (`"title": ["a"]`) is matched by the evaluator element-wise, by SQL not at
//!   all; sub-attributes are read as single values.
//! - `pr` on an object looks one level deep (an object is present when a member is a
//!   non-empty string, a number or a boolean).
//!
//! Refused with [`StoreError::UnsupportedFilter`] (SCIM 400 `invalidFilter`): `co`/`sw`/`ew`
//! on `meta.created`/`meta.lastModified`, a dateTime that is not RFC 3339, ordering on
//! other dateTime attributes, `name[…]`/`meta[…]`, and attribute names outside
//! `[A-Za-z0-9:._$-]`.

mod dialect;

pub(crate) use dialect::Dialect;
use dialect::{JType, JsonLoc, like_pattern};

use crate::domain::{IdpGroup, User};
use crate::scim::filter::CORE_SCHEMA_PREFIX;
use crate::scim::schema::{AttrKind, AttributeSchema, CoreSchema, ENTERPRISE_USER_SCHEMA};
use crate::scim::{AttrPath, CompValue, CompareOp, Filter};
use crate::store::error::StoreError;
use chrono::{DateTime, SubsecRound, Timelike, Utc};
use serde_json::{Map, Value, json};

/// Which table a filter selects from; the SQL names it `u` (users) or `g` (idp_groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    User,
    Group,
}

/// A value bound to a `$n` placeholder.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SqlParam {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(DateTime<Utc>),
}

/// A WHERE fragment and the values of its placeholders `$first …`.
#[derive(Debug)]
pub(crate) struct SqlFilter {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

fn unsupported(what: impl Into<String>) -> StoreError {
    StoreError::UnsupportedFilter(what.into())
}

/// How a typed column compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColKind {
    /// Holds the Rust lowercase of the attribute (`*_key`, lowercase ids).
    Key,
    /// Case-sensitive text.
    Exact,
    /// Case-insensitive text, compared through `lower()`.
    Folded,
    Bool,
    Time,
}

#[derive(Clone, Copy, Debug)]
struct Column {
    expr: &'static str,
    kind: ColKind,
    nullable: bool,
}

/// Where an attribute's values come from.
#[derive(Clone, Debug)]
enum Target {
    Column(Column),
    /// Ids from `group_members`: the group's members, or the user's groups.
    Membership {
        of_group: bool,
    },
    /// `multi`: `loc` holds a multi-valued attribute and `sub` is read in each element.
    Json {
        loc: JsonLoc,
        multi: bool,
        sub: Option<String>,
    },
    Absent,
}

/// `(lowercase name, column)` per resource; looked up by `name` or `name.sub`.
const USER_COLUMNS: &[(&str, Column)] = &[
    ("id", col("u.id", ColKind::Exact, false)),
    ("username", col("u.user_name_key", ColKind::Key, false)),
    ("externalid", col("u.external_id", ColKind::Exact, true)),
    ("active", col("u.active", ColKind::Bool, false)),
    ("name.givenname", col("u.given_name", ColKind::Folded, true)),
    (
        "name.familyname",
        col("u.family_name", ColKind::Folded, true),
    ),
    ("meta.created", col("u.created_at", ColKind::Time, false)),
    (
        "meta.lastmodified",
        col("u.updated_at", ColKind::Time, false),
    ),
];

const GROUP_COLUMNS: &[(&str, Column)] = &[
    ("id", col("g.id", ColKind::Exact, false)),
    (
        "displayname",
        col("g.display_name_key", ColKind::Key, false),
    ),
    ("externalid", col("g.external_id", ColKind::Exact, true)),
    ("meta.created", col("g.created_at", ColKind::Time, false)),
    (
        "meta.lastmodified",
        col("g.updated_at", ColKind::Time, false),
    ),
];

const fn col(expr: &'static str, kind: ColKind, nullable: bool) -> Column {
    Column {
        expr,
        kind,
        nullable,
    }
}

/// RFC 7643 multi-valued User attributes (lowercase).
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509certificates",
    "schemas",
];

/// Canonical spellings of the attribute names the SCIM layer stores, so that
/// `EMAILS[TYPE eq "work"]` reads the `emails`/`type` keys. Unknown names are used as
/// written.
const CANONICAL: &[&str] = &[
    "userName",
    "name",
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "value",
    "display",
    "type",
    "primary",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "$ref",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
    "externalId",
    "schemas",
];

fn canonical(name: &str) -> Result<String, StoreError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '$' | '-'))
    {
        return Err(unsupported(format!("attribute name {name:?}")));
    }
    Ok(CANONICAL
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |c| (*c).to_owned()))
}

fn is_core_urn(urn: &str) -> bool {
    urn.get(..CORE_SCHEMA_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX))
}

/// Translates `filter` for `resource`; placeholders start at `$first`.
pub(crate) fn translate(
    filter: &Filter,
    resource: Resource,
    dialect: Dialect,
    first: usize,
) -> Result<SqlFilter, StoreError> {
    let mut t = Translator {
        dialect,
        resource,
        params: Vec::new(),
        first,
        aliases: 0,
    };
    let sql = t.filter(filter, None)?;
    Ok(SqlFilter {
        sql,
        params: t.params,
    })
}

/// The ORDER BY key for `sortBy` (without direction), and its parameters (none).
pub(crate) fn sort_key(
    attr: &AttrPath,
    resource: Resource,
    dialect: Dialect,
) -> Result<String, StoreError> {
    let t = Translator {
        dialect,
        resource,
        params: Vec::new(),
        first: 1,
        aliases: 0,
    };
    let schema_path = t.schema_path(attr, None);
    let exact = CoreSchema.case_exact(&schema_path);
    let byte_order = dialect.byte_order();
    match t.target(attr)? {
        Target::Column(c) => Ok(match c.kind {
            ColKind::Folded => format!("lower({}){byte_order}", c.expr),
            ColKind::Key | ColKind::Exact => format!("{}{byte_order}", c.expr),
            ColKind::Bool | ColKind::Time => c.expr.to_owned(),
        }),
        Target::Json {
            loc, multi: false, ..
        } => {
            let text = dialect.text(&loc);
            let text = if exact {
                text
            } else {
                format!("lower({text})")
            };
            Ok(format!(
                "(CASE WHEN {} THEN {text} END){byte_order}",
                dialect.is(&loc, JType::String)
            ))
        }
        Target::Json { multi: true, .. } | Target::Membership { .. } => Err(unsupported(format!(
            "sorting by the multi-valued attribute {attr}"
        ))),
        Target::Absent => Ok("NULL".to_owned()),
    }
}

struct Translator {
    dialect: Dialect,
    resource: Resource,
    params: Vec<SqlParam>,
    first: usize,
    aliases: usize,
}

/// Inside `attr[…]`: what the sub-attributes are relative to.
#[derive(Clone)]
enum Scope {
    Json { element: JsonLoc, parent: AttrPath },
    Membership { of_group: bool, parent: AttrPath },
}

impl Translator {
    fn param(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        format!("${}", self.first + self.params.len() - 1)
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("j{}", self.aliases)
    }

    fn root(&self) -> &'static str {
        match self.resource {
            Resource::User => "u.scim",
            Resource::Group => "g.scim",
        }
    }

    fn filter(&mut self, filter: &Filter, scope: Option<&Scope>) -> Result<String, StoreError> {
        Ok(match filter {
            Filter::Present(attr) => {
                let target = self.scoped_target(attr, scope)?;
                self.present(&target)
            }
            Filter::Compare { attr, op, value } => {
                let parent = scope.map(|s| match s {
                    Scope::Json { parent, .. } | Scope::Membership { parent, .. } => parent,
                });
                let mut schema_path = self.schema_path(attr, parent);
                if schema_path.sub_attr.is_none()
                    && CoreSchema.kind(&schema_path) == AttrKind::Complex
                {
                    schema_path.sub_attr = Some("value".to_owned());
                }
                let target = self.scoped_target(attr, scope)?;
                self.compare(&target, &schema_path, *op, value)?
            }
            Filter::Not(inner) => format!("NOT ({})", self.filter(inner, scope)?),
            Filter::And(operands) => self.chain(operands, scope, " AND ")?,
            Filter::Or(operands) => self.chain(operands, scope, " OR ")?,
            Filter::ValuePath { attr, filter } => {
                if scope.is_some() {
                    return Err(unsupported("nested attr[…] filters"));
                }
                self.value_path(attr, filter)?
            }
        })
    }

    fn chain(
        &mut self,
        operands: &[Filter],
        scope: Option<&Scope>,
        keyword: &str,
    ) -> Result<String, StoreError> {
        let parts = operands
            .iter()
            .map(|f| self.filter(f, scope).map(|s| format!("({s})")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(parts.join(keyword))
    }

    /// The path the schema is asked about, as the evaluator builds it.
    fn schema_path(&self, attr: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
        match parent {
            Some(p) => AttrPath {
                schema: p.schema.clone(),
                name: p.name.clone(),
                sub_attr: Some(attr.name.clone()),
            },
            None => attr.clone(),
        }
    }

    /// Where a top-level attribute's values are.
    fn target(&self, attr: &AttrPath) -> Result<Target, StoreError> {
        let extension = attr.schema.as_deref().filter(|urn| !is_core_urn(urn));
        let key = attr.normalized_name();
        if extension.is_none() {
            let columns = match self.resource {
                Resource::User => USER_COLUMNS,
                Resource::Group => GROUP_COLUMNS,
            };
            if let Some((_, c)) = columns.iter().find(|(name, _)| *name == key) {
                return Ok(Target::Column(*c));
            }
            let membership = match self.resource {
                Resource::User => "groups",
                Resource::Group => "members",
            };
            if attr.name.eq_ignore_ascii_case(membership) {
                return Ok(match attr.sub_attr.as_deref() {
                    None => Target::Membership {
                        of_group: self.resource == Resource::Group,
                    },
                    Some(sub) if sub.eq_ignore_ascii_case("value") => Target::Membership {
                        of_group: self.resource == Resource::Group,
                    },
                    Some(_) => Target::Absent,
                });
            }
            if self.resource == Resource::User && attr.name.eq_ignore_ascii_case("meta") {
                // meta.* other than the two dates: not filterable here (location, version…).
                return Ok(Target::Absent);
            }
        }
        if self.resource == Resource::Group {
            return Ok(Target::Absent);
        }
        let mut keys = Vec::new();
        if let Some(urn) = extension {
            if urn.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
                keys.push(ENTERPRISE_USER_SCHEMA.to_owned());
            } else {
                keys.push(canonical(urn)?);
            }
        }
        keys.push(canonical(&attr.name)?);
        let multi =
            extension.is_none() && MULTI_VALUED.contains(&attr.name.to_ascii_lowercase().as_str());
        let top = JsonLoc {
            root: self.root().to_owned(),
            prefix: None,
            keys,
        };
        let sub = attr.sub_attr.as_deref().map(canonical).transpose()?;
        Ok(match (sub, multi) {
            (None, _) => Target::Json {
                loc: top,
                multi,
                sub: None,
            },
            (Some(sub), false) => Target::Json {
                loc: top.at(&sub),
                multi: false,
                sub: None,
            },
            // `emails.value`: the sub-attribute of every element.
            (Some(sub), true) => Target::Json {
                loc: top,
                multi,
                sub: Some(sub),
            },
        })
    }

    /// Like [`Translator::target`], or relative to the element inside `attr[…]`.
    fn scoped_target(&self, attr: &AttrPath, scope: Option<&Scope>) -> Result<Target, StoreError> {
        match scope {
            None => self.target(attr),
            Some(Scope::Json { element, .. }) => {
                let mut loc = element.at(&canonical(&attr.name)?);
                if let Some(sub) = &attr.sub_attr {
                    loc = loc.at(&canonical(sub)?);
                }
                Ok(Target::Json {
                    loc,
                    multi: false,
                    sub: None,
                })
            }
            Some(Scope::Membership { of_group, .. }) => {
                if attr.name.eq_ignore_ascii_case("value") && attr.sub_attr.is_none() {
                    let expr = if *of_group { "m.user_id" } else { "m.group_id" };
                    Ok(Target::Column(col(expr, ColKind::Key, false)))
                } else {
                    Ok(Target::Absent)
                }
            }
        }
    }

    fn value_path(&mut self, attr: &AttrPath, inner: &Filter) -> Result<String, StoreError> {
        let core = attr.schema.as_deref().is_none_or(is_core_urn);
        if self.resource == Resource::User
            && core
            && ["name", "meta"]
                .iter()
                .any(|n| attr.name.eq_ignore_ascii_case(n))
        {
            // Partly columns, partly JSON: not translated (nobody sends it).
            return Err(unsupported(format!("`{attr}[…]`")));
        }
        match self.target(&AttrPath {
            sub_attr: None,
            ..attr.clone()
        })? {
            Target::Json { loc, .. } => {
                let alias = self.alias();
                let parent = attr.clone();
                let dialect = self.dialect;
                let mut failure = None;
                let sql = dialect.any_value(&loc, &alias, &mut |element| {
                    let scope = Scope::Json {
                        element: element.clone(),
                        parent: parent.clone(),
                    };
                    match self.filter(inner, Some(&scope)) {
                        Ok(cond) => format!("{} AND ({cond})", dialect.is(element, JType::Object)),
                        Err(e) => {
                            failure = Some(e);
                            "FALSE".to_owned()
                        }
                    }
                });
                match failure {
                    Some(e) => Err(e),
                    None => Ok(sql),
                }
            }
            Target::Membership { of_group } => {
                let scope = Scope::Membership {
                    of_group,
                    parent: attr.clone(),
                };
                let cond = self.filter(inner, Some(&scope))?;
                Ok(membership_exists(of_group, &cond))
            }
            Target::Absent => Ok("FALSE".to_owned()),
            Target::Column(_) => Err(unsupported(format!("`{attr}[…]`"))),
        }
    }

    fn present(&mut self, target: &Target) -> String {
        match target {
            Target::Column(c) => match c.kind {
                ColKind::Key | ColKind::Exact | ColKind::Folded => {
                    format!("({0} IS NOT NULL AND {0} <> '')", c.expr)
                }
                ColKind::Bool | ColKind::Time if c.nullable => format!("{} IS NOT NULL", c.expr),
                ColKind::Bool | ColKind::Time => "TRUE".to_owned(),
            },
            // Ids are never empty.
            Target::Membership { of_group } => membership_exists(*of_group, "TRUE"),
            Target::Absent => "FALSE".to_owned(),
            Target::Json { loc, multi, sub } => {
                let dialect = self.dialect;
                let member_alias = self.alias();
                let mut present = |l: &JsonLoc| {
                    let l = &match sub {
                        Some(sub) => l.at(sub),
                        None => l.clone(),
                    };
                    format!(
                        "({s} AND {t} <> '') OR {n} OR {yes} OR {no} \
                         OR (({o} OR {a}) AND {members})",
                        s = dialect.is(l, JType::String),
                        t = dialect.text(l),
                        n = dialect.is(l, JType::Number),
                        yes = dialect.is(l, JType::True),
                        no = dialect.is(l, JType::False),
                        o = dialect.is(l, JType::Object),
                        a = dialect.is(l, JType::Array),
                        members = dialect.has_present_scalar_member(l, &member_alias),
                    )
                };
                if *multi {
                    let alias = self.alias();
                    dialect.any_value(loc, &alias, &mut present)
                } else {
                    format!("({})", present(loc))
                }
            }
        }
    }

    fn compare(
        &mut self,
        target: &Target,
        schema_path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, StoreError> {
        match target {
            Target::Absent => Ok(match (op, value) {
                (CompareOp::Eq, CompValue::Null) => "TRUE",
                (CompareOp::Ne, CompValue::Null) => "FALSE",
                (CompareOp::Ne, _) => "TRUE",
                _ => "FALSE",
            }
            .to_owned()),
            Target::Column(c) => self.compare_column(*c, op, value),
            Target::Membership { of_group } => {
                let column = if *of_group { "m.user_id" } else { "m.group_id" };
                let exists = |cond: &str| membership_exists(*of_group, cond);
                Ok(match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => format!("NOT {}", exists("TRUE")),
                    (CompareOp::Ne, CompValue::Null) => exists("TRUE"),
                    (_, CompValue::Null) => "FALSE".to_owned(),
                    (CompareOp::Ne, CompValue::String(_)) => {
                        let cond = self.compare_key(column, op, value)?;
                        format!("(NOT {} OR {})", exists("TRUE"), exists(&cond))
                    }
                    (CompareOp::Ne, _) => format!("NOT {}", exists("TRUE")),
                    _ => {
                        let cond = self.compare_key(column, op, value)?;
                        exists(&cond)
                    }
                })
            }
            Target::Json { loc, multi, sub } => {
                let kind = CoreSchema.kind(schema_path);
                let exact = CoreSchema.case_exact(schema_path);
                if kind == AttrKind::DateTime {
                    return Err(unsupported(format!(
                        "dateTime comparison on {schema_path} (not a column)"
                    )));
                }
                self.compare_json(loc, *multi, sub.as_deref(), kind, exact, op, value)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn compare_json(
        &mut self,
        loc: &JsonLoc,
        multi: bool,
        sub: Option<&str>,
        kind: AttrKind,
        exact: bool,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, StoreError> {
        let dialect = self.dialect;
        // The comparison's parameter is bound once and used by every rendering.
        let bound = match value {
            CompValue::String(s) => {
                let text = if op.is_substring() {
                    let (leading, trailing) = match op {
                        CompareOp::Co => (true, true),
                        CompareOp::Sw => (false, true),
                        _ => (true, false),
                    };
                    if exact || kind == AttrKind::Binary {
                        dialect.exact_pattern_text(s, leading, trailing)
                    } else {
                        like_pattern(s, leading, trailing)
                    }
                } else {
                    s.clone()
                };
                Some(self.param(SqlParam::Text(text)))
            }
            // Bound only when used: an unused parameter would change the prepared
            // statement's parameter count under the same SQL text.
            CompValue::Number(n) if !op.is_substring() => Some(self.param(number_param(n))),
            CompValue::Number(_) => None,
            CompValue::Bool(_) | CompValue::Null => None,
        };
        let folded = !(exact || kind == AttrKind::Binary);
        // One value (after `value` replaced an object): the comparison.
        let scalar = |l: &JsonLoc| -> String {
            match (value, &bound) {
                (CompValue::String(_), Some(p)) => {
                    let text = dialect.text(l);
                    let cmp = if op.is_substring() {
                        if folded {
                            format!("lower({text}) LIKE lower({p}) ESCAPE '\\'")
                        } else {
                            dialect.exact_pattern(&text, p)
                        }
                    } else {
                        let sql_op = sql_op(op);
                        let order = if op.is_ordering() {
                            dialect.byte_order()
                        } else {
                            ""
                        };
                        if folded {
                            format!("lower({text}){order} {sql_op} lower({p})")
                        } else {
                            format!("{text}{order} {sql_op} {p}")
                        }
                    };
                    format!(
                        "CASE WHEN {} THEN {cmp} ELSE FALSE END",
                        dialect.is(l, JType::String)
                    )
                }
                (CompValue::Number(_), Some(p)) if !op.is_substring() => format!(
                    "CASE WHEN {} THEN {} {} {p} ELSE FALSE END",
                    dialect.is(l, JType::Number),
                    dialect.number(l),
                    sql_op(op)
                ),
                (CompValue::Bool(b), _) => match op {
                    CompareOp::Eq => dialect.is(l, if *b { JType::True } else { JType::False }),
                    CompareOp::Ne => dialect.is(l, if *b { JType::False } else { JType::True }),
                    _ => "FALSE".to_owned(),
                },
                _ => "FALSE".to_owned(),
            }
        };
        // An object stands for its `value`.
        let mapped = |l: &JsonLoc, f: &dyn Fn(&JsonLoc) -> String| -> String {
            format!(
                "CASE WHEN {} THEN {} ELSE {} END",
                dialect.is(l, JType::Object),
                f(&l.at("value")),
                f(l)
            )
        };
        let at_sub = |l: &JsonLoc| match sub {
            Some(sub) => l.at(sub),
            None => l.clone(),
        };
        let has_value = |l: &JsonLoc| mapped(&at_sub(l), &|v| dialect.non_null(v));
        let matching = |l: &JsonLoc| mapped(&at_sub(l), &scalar);
        let any = |t: &mut Self, f: &dyn Fn(&JsonLoc) -> String| -> String {
            if multi {
                let alias = t.alias();
                dialect.any_value(loc, &alias, &mut |l| f(l))
            } else {
                format!("({})", f(loc))
            }
        };
        Ok(match (op, value) {
            (CompareOp::Eq, CompValue::Null) => format!("NOT {}", any(self, &has_value)),
            (CompareOp::Ne, CompValue::Null) => any(self, &has_value),
            (_, CompValue::Null) => "FALSE".to_owned(),
            (CompareOp::Ne, _) => {
                let absent = any(self, &has_value);
                let differs = any(self, &matching);
                format!("(NOT {absent} OR {differs})")
            }
            _ => any(self, &matching),
        })
    }

    /// A comparison on a key column (value lowercased here, like the column).
    fn compare_key(
        &mut self,
        column: &str,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, StoreError> {
        let CompValue::String(s) = value else {
            return Ok("FALSE".to_owned());
        };
        let s = s.to_lowercase();
        Ok(self.text_compare(column, op, &s, false))
    }

    /// `column op s`, case-sensitively unless `fold` (then through `lower()`).
    fn text_compare(&mut self, column: &str, op: CompareOp, s: &str, fold: bool) -> String {
        let dialect = self.dialect;
        let lhs = if fold {
            format!("lower({column})")
        } else {
            column.to_owned()
        };
        if op.is_substring() {
            let (leading, trailing) = match op {
                CompareOp::Co => (true, true),
                CompareOp::Sw => (false, true),
                _ => (true, false),
            };
            if fold {
                let p = self.param(SqlParam::Text(like_pattern(s, leading, trailing)));
                format!("{lhs} LIKE lower({p}) ESCAPE '\\'")
            } else {
                let p = self.param(SqlParam::Text(
                    dialect.exact_pattern_text(s, leading, trailing),
                ));
                dialect.exact_pattern(&lhs, &p)
            }
        } else {
            let p = self.param(SqlParam::Text(s.to_owned()));
            let rhs = if fold { format!("lower({p})") } else { p };
            let order = if op.is_ordering() {
                dialect.byte_order()
            } else {
                ""
            };
            format!("{lhs}{order} {} {rhs}", sql_op(op))
        }
    }

    fn compare_column(
        &mut self,
        c: Column,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, StoreError> {
        let absent = if c.nullable {
            format!("{} IS NULL", c.expr)
        } else {
            "FALSE".to_owned()
        };
        let cmp = match (op, value) {
            (CompareOp::Eq, CompValue::Null) => return Ok(absent),
            (CompareOp::Ne, CompValue::Null) => return Ok(format!("NOT ({absent})")),
            (_, CompValue::Null) => return Ok("FALSE".to_owned()),
            (_, CompValue::String(s)) => match c.kind {
                ColKind::Key => self.compare_key(c.expr, op, value)?,
                ColKind::Exact => self.text_compare(c.expr, op, s, false),
                ColKind::Folded => self.text_compare(c.expr, op, s, true),
                ColKind::Time => self.compare_time(c.expr, op, s)?,
                ColKind::Bool => "FALSE".to_owned(),
            },
            (CompareOp::Eq | CompareOp::Ne, CompValue::Bool(b)) if c.kind == ColKind::Bool => {
                let p = self.param(SqlParam::Bool(*b));
                format!("{} {} {p}", c.expr, sql_op(op))
            }
            _ => "FALSE".to_owned(),
        };
        Ok(match (op, c.nullable) {
            (CompareOp::Ne, true) => format!("({absent} OR {cmp})"),
            (_, true) => format!("({} IS NOT NULL AND {cmp})", c.expr),
            (_, false) => cmp,
        })
    }

    /// A timestamp column against an RFC 3339 instant. Stored times have microsecond
    /// precision, so a finer instant is compared through its truncation.
    fn compare_time(&mut self, column: &str, op: CompareOp, s: &str) -> Result<String, StoreError> {
        if op.is_substring() {
            return Err(unsupported(format!("`{op}` on a dateTime")));
        }
        let instant = parse_instant(s)
            .ok_or_else(|| unsupported(format!("{s:?} is not an RFC 3339 dateTime")))?;
        let micros = instant.trunc_subsecs(6);
        let finer = instant.nanosecond() % 1000 != 0;
        let op = match (op, finer) {
            (_, false) => op,
            (CompareOp::Eq, true) => return Ok("FALSE".to_owned()),
            (CompareOp::Ne, true) => return Ok("TRUE".to_owned()),
            (CompareOp::Ge | CompareOp::Gt, true) => CompareOp::Gt,
            (_, true) => CompareOp::Le,
        };
        let p = self.param(SqlParam::Time(micros));
        Ok(format!("{column} {} {p}", sql_op(op)))
    }
}

fn membership_exists(of_group: bool, cond: &str) -> String {
    if of_group {
        format!("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND {cond})")
    } else {
        format!("EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = u.id AND {cond})")
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

fn number_param(n: &serde_json::Number) -> SqlParam {
    match n.as_i64() {
        Some(i) => SqlParam::Int(i),
        None => SqlParam::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|naive| naive.and_utc())
        })
}

/// The user as SCIM filters see it (see the module documentation): `scim` with the typed
/// columns laid over it, and `groups` from `group_ids`.
pub fn user_view(user: &User, group_ids: &[String]) -> Value {
    let mut resource = match &user.scim {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    resource.insert("id".into(), json!(user.id.as_str()));
    resource.insert("userName".into(), json!(user.user_name));
    match &user.external_id {
        Some(e) => resource.insert("externalId".into(), json!(e)),
        None => resource.remove("externalId"),
    };
    resource.insert("active".into(), json!(user.active));
    let name_fields = [
        ("givenName", &user.given_name),
        ("familyName", &user.family_name),
    ];
    let has_name = name_fields.iter().any(|(_, v)| v.is_some());
    match resource.get_mut("name") {
        Some(Value::Object(name)) => {
            for (key, v) in name_fields {
                match v {
                    Some(v) => name.insert(key.into(), json!(v)),
                    None => name.remove(key),
                };
            }
        }
        _ if has_name => {
            let mut name = Map::new();
            for (key, v) in name_fields {
                if let Some(v) = v {
                    name.insert(key.into(), json!(v));
                }
            }
            resource.insert("name".into(), Value::Object(name));
        }
        _ => {}
    }
    resource.insert("meta".into(), meta(user.created_at, user.updated_at));
    if group_ids.is_empty() {
        resource.remove("groups");
    } else {
        let groups: Vec<Value> = group_ids.iter().map(|g| json!({ "value": g })).collect();
        resource.insert("groups".into(), Value::Array(groups));
    }
    Value::Object(resource)
}

/// The group as SCIM filters see it: columns, and `members` from `member_ids`.
pub fn group_view(group: &IdpGroup, member_ids: &[String]) -> Value {
    let mut resource = Map::new();
    resource.insert("id".into(), json!(group.id.as_str()));
    resource.insert("displayName".into(), json!(group.display_name));
    if let Some(e) = &group.external_id {
        resource.insert("externalId".into(), json!(e));
    }
    if !member_ids.is_empty() {
        let members: Vec<Value> = member_ids.iter().map(|m| json!({ "value": m })).collect();
        resource.insert("members".into(), Value::Array(members));
    }
    resource.insert("meta".into(), meta(group.created_at, group.updated_at));
    Value::Object(resource)
}

fn meta(created: DateTime<Utc>, modified: DateTime<Utc>) -> Value {
    json!({
        "created": created.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "lastModified": modified.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    })
}

#[cfg(test)]
mod tests;
