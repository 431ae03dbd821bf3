//! The SQL translation agrees with the in-memory evaluator: random users and groups (ASCII
//! strings from a small pool, so filters hit), random filters over a fixed attribute set,
//! on both engines. Each case is a connection of its own in one database, so every query
//! also checks that other connections' rows stay out.
//!
//! Generation only (no shrinking: the database is async); a failure prints the filter
//! and the resources it disagrees on. The seed is fixed, so failures reproduce.

use super::{at, base_time};
use crate::support::both_engines;
use idp_sync::domain::{ConnectionId, IdpGroup, User, UserId};
use idp_sync::scim::filter::matches;
use idp_sync::scim::{AttrPath, CompValue, CompareOp, CoreSchema, Filter};
use idp_sync::store::{ScimListQuery, Store, StoreError, group_view, user_view};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const CASES: usize = 10;
const FILTERS_PER_CASE: usize = 40;
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Strings the data and the filters share; wildcards of LIKE and GLOB included.
const WORDS: &[&str] = &[
    "ana@acme.com",
    "ANA@ACME.COM",
    "bob@example.org",
    "b%_*[c@acme.com",
    "Carol",
    "carol",
    "work",
    "home",
    "Engineering",
    "eng",
    "@acme.com",
    "acme",
    "a",
    "",
    "%",
    "_",
    "*",
    "[",
    "Z",
    "x-1",
    "X-1",
];
/// userNames: distinct even case-insensitively (unique per connection).
const USER_NAMES: &[&str] = &[
    "ana@acme.com",
    "bob@example.org",
    "b%_*[c@acme.com",
    "Carol",
    "x-1",
    "Z",
    "eng",
    "a",
];
const EXTERNAL_IDS: &[&str] = &["x-1", "X-1", "Carol", "carol", "a", "%"];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_owned)
}

fn opt_word() -> impl Strategy<Value = Option<String>> {
    prop::option::of(word())
}

#[derive(Clone, Debug)]
struct UserSeed {
    external_id: Option<String>,
    active: bool,
    given_name: Option<String>,
    family_name: Option<String>,
    scim: Value,
    created: i64,
    modified: i64,
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => word().prop_map(Value::String),
        1 => (0i64..8).prop_map(|n| json!(n)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn email() -> impl Strategy<Value = Value> {
    (
        opt_word(),
        prop::option::of(prop::sample::select(&["work", "home", "WORK"][..])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(value, kind, primary)| {
            let mut m = Map::new();
            if let Some(v) = value {
                m.insert("value".into(), json!(v));
            }
            if let Some(k) = kind {
                m.insert("type".into(), json!(k));
            }
            if let Some(p) = primary {
                m.insert("primary".into(), json!(p));
            }
            Value::Object(m)
        })
}

fn scim_json() -> impl Strategy<Value = Value> {
    (
        prop::option::of(json_scalar()),
        opt_word(),
        prop::option::of(prop::collection::vec(email(), 0..3)),
        prop::option::of((prop::option::of(json_scalar()), opt_word())),
    )
        .prop_map(|(title, display, emails, enterprise)| {
            let mut m = Map::new();
            if let Some(t) = title {
                m.insert("title".into(), t);
            }
            if let Some(d) = display {
                m.insert("displayName".into(), json!(d));
            }
            if let Some(e) = emails {
                m.insert("emails".into(), Value::Array(e));
            }
            if let Some((number, department)) = enterprise {
                let mut ext = Map::new();
                if let Some(n) = number {
                    ext.insert("employeeNumber".into(), n);
                }
                if let Some(d) = department {
                    ext.insert("department".into(), json!(d));
                }
                m.insert(ENTERPRISE.into(), Value::Object(ext));
            }
            Value::Object(m)
        })
}

fn user_seed() -> impl Strategy<Value = UserSeed> {
    (
        prop::option::of(prop::sample::select(EXTERNAL_IDS).prop_map(str::to_owned)),
        any::<bool>(),
        opt_word(),
        opt_word(),
        scim_json(),
        0i64..4,
        0i64..4,
    )
        .prop_map(
            |(external_id, active, given_name, family_name, scim, created, modified)| UserSeed {
                external_id,
                active,
                given_name,
                family_name,
                scim,
                created,
                modified,
            },
        )
}

#[derive(Clone, Debug)]
struct Dataset {
    users: Vec<UserSeed>,
    /// (displayName, externalId, member indexes)
    groups: Vec<(String, Option<String>, Vec<usize>)>,
    user_filters: Vec<Filter>,
    group_filters: Vec<Filter>,
}

fn attr(text: &str) -> AttrPath {
    match Filter::parse(&format!("{text} pr")) {
        Ok(Filter::Present(a)) => a,
        other => panic!("{text}: {other:?}"),
    }
}

/// Instants around the data's (seconds from base, some with sub-microsecond digits).
fn date_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        (-1i64..5).prop_map(|s| CompValue::String(at(s).to_rfc3339())),
        (0i64..4).prop_map(|s| CompValue::String(
            at(s).format("%Y-%m-%dT%H:%M:%S.0000005+00:00").to_string()
        )),
        (0i64..4).prop_map(|s| CompValue::String(
            (at(s) + chrono::Duration::hours(2))
                .format("%Y-%m-%dT%H:%M:%S+02:00")
                .to_string()
        )),
    ]
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        6 => word().prop_map(CompValue::String),
        1 => (0i64..8).prop_map(|n| CompValue::Number(n.into())),
        1 => any::<bool>().prop_map(CompValue::Bool),
        1 => Just(CompValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(&CompareOp::ALL[..])
}

fn leaf(attrs: &'static [&'static str], dates: &'static [&'static str]) -> BoxedStrategy<Filter> {
    let plain = (prop::sample::select(attrs), op(), value())
        .prop_map(|(a, op, value)| Filter::compare(attr(a), op, value));
    let present = prop::sample::select(attrs).prop_map(|a| Filter::Present(attr(a)));
    let date = (prop::sample::select(dates), op(), date_value())
        .prop_map(|(a, op, value)| Filter::compare(attr(a), op, value));
    prop_oneof![5 => plain, 1 => present, 2 => date].boxed()
}

fn combine(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(Filter::not),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner, 2..4).prop_map(Filter::Or),
        ]
    })
    .boxed()
}

const USER_ATTRS: &[&str] = &[
    "userName",
    "USERNAME",
    "externalId",
    "active",
    "displayName",
    "title",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "Emails.Type",
    "emails.primary",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:core:2.0:User:title",
    "nickName",
];
const EMAIL_SUBS: &[&str] = &["value", "type", "primary", "display"];
const DATES: &[&str] = &["meta.created", "meta.lastModified"];
const GROUP_ATTRS: &[&str] = &["displayName", "externalId", "members", "title"];

fn user_filter() -> BoxedStrategy<Filter> {
    let in_brackets = combine(
        leaf(EMAIL_SUBS, DATES)
            .prop_filter("no dates in emails", |f| !f.to_string().contains("meta"))
            .boxed(),
    );
    let value_path = in_brackets.prop_map(|f| Filter::ValuePath {
        attr: attr("emails"),
        filter: Box::new(f),
    });
    combine(prop_oneof![4 => leaf(USER_ATTRS, DATES), 1 => value_path].boxed())
}

fn group_filter() -> BoxedStrategy<Filter> {
    combine(leaf(GROUP_ATTRS, DATES))
}

fn dataset() -> impl Strategy<Value = Dataset> {
    (
        prop::sample::subsequence(USER_NAMES, 2..USER_NAMES.len()),
        prop::collection::vec(user_seed(), USER_NAMES.len()),
        prop::collection::vec(
            (
                word(),
                prop::option::of(prop::sample::select(EXTERNAL_IDS).prop_map(str::to_owned)),
                prop::collection::vec(0usize..USER_NAMES.len(), 0..4),
            ),
            1..4,
        ),
        prop::collection::vec(user_filter(), FILTERS_PER_CASE),
        prop::collection::vec(group_filter(), FILTERS_PER_CASE / 2),
    )
        .prop_map(|(names, seeds, groups, user_filters, group_filters)| {
            let users = seeds.into_iter().take(names.len()).collect();
            Dataset {
                users,
                groups,
                user_filters,
                group_filters,
            }
        })
}

/// Inserts the case's rows under `connection`; returns users and groups with the ids of
/// their memberships, as the views need them.
async fn insert(
    store: &Arc<dyn Store>,
    connection: &ConnectionId,
    d: &Dataset,
    names: &[&str],
) -> (Vec<(User, Vec<String>)>, Vec<(IdpGroup, Vec<String>)>) {
    let mut users = Vec::new();
    let mut seen_external = BTreeSet::new();
    for (seed, name) in d.users.iter().zip(names) {
        let mut u = User::new(connection.clone(), *name, base_time());
        // externalId is unique per connection: a repeat is left out.
        u.external_id = seed
            .external_id
            .clone()
            .filter(|e| seen_external.insert(e.clone()));
        u.active = seed.active;
        u.given_name = seed.given_name.clone();
        u.family_name = seed.family_name.clone();
        u.scim = seed.scim.clone();
        u.created_at = at(seed.created);
        u.updated_at = at(seed.modified);
        store.create_user(&u).await.unwrap();
        users.push((u, Vec::new()));
    }
    let mut groups = Vec::new();
    let mut seen_external = BTreeSet::new();
    for (i, (name, external, members)) in d.groups.iter().enumerate() {
        let mut g = IdpGroup::new(connection.clone(), name.clone(), at(i as i64));
        g.external_id = external.clone().filter(|e| seen_external.insert(e.clone()));
        store.create_group(&g).await.unwrap();
        let members: BTreeSet<usize> = members.iter().map(|m| m % users.len()).collect();
        let ids: Vec<UserId> = members.iter().map(|&m| users[m].0.id.clone()).collect();
        store.add_group_members(&g.id, &ids).await.unwrap();
        for &m in &members {
            users[m].1.push(g.id.to_string());
        }
        groups.push((g, ids.iter().map(|i| i.to_string()).collect()));
    }
    (users, groups)
}

fn query(connection: &ConnectionId, filter: &Filter) -> ScimListQuery {
    let mut q = ScimListQuery::new(connection.clone(), 1000);
    q.filter = Some(filter.clone());
    q
}

async fn sql_agrees_with_the_evaluator(store: Arc<dyn Store>) {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = dataset();
    let (mut checked, mut refused) = (0usize, BTreeMap::<String, usize>::new());
    for case in 0..CASES {
        let d = strategy.new_tree(&mut runner).unwrap().current();
        let connection = ConnectionId::new(format!("case{case}"));
        let names: Vec<&str> = USER_NAMES.iter().copied().take(d.users.len()).collect();
        let (users, groups) = insert(&store, &connection, &d, &names).await;
        for filter in &d.user_filters {
            let expected: BTreeSet<String> = users
                .iter()
                .filter(|(u, g)| matches(filter, &user_view(u, g), &CoreSchema))
                .map(|(u, _)| u.id.to_string())
                .collect();
            match store.scim_list_users(&query(&connection, filter)).await {
                Ok(page) => {
                    let got: BTreeSet<String> =
                        page.items.iter().map(|u| u.id.to_string()).collect();
                    if got != expected {
                        let views: Vec<Value> =
                            users.iter().map(|(u, g)| user_view(u, g)).collect();
                        panic!(
                            "filter {filter}\nsql: {got:?}\nevaluator: {expected:?}\nusers: {}",
                            serde_json::to_string_pretty(&views).unwrap()
                        );
                    }
                    assert_eq!(page.total_results as usize, expected.len(), "{filter}");
                    checked += 1;
                }
                Err(StoreError::UnsupportedFilter(why)) => {
                    *refused
                        .entry(why.split(' ').next().unwrap_or("").to_owned())
                        .or_default() += 1;
                }
                Err(e) => panic!("filter {filter}: {e}"),
            }
        }
        for filter in &d.group_filters {
            let expected: BTreeSet<String> = groups
                .iter()
                .filter(|(g, m)| matches(filter, &group_view(g, m), &CoreSchema))
                .map(|(g, _)| g.id.to_string())
                .collect();
            match store.scim_list_groups(&query(&connection, filter)).await {
                Ok(page) => {
                    let got: BTreeSet<String> =
                        page.items.iter().map(|g| g.id.to_string()).collect();
                    assert_eq!(got, expected, "group filter {filter}");
                    checked += 1;
                }
                Err(StoreError::UnsupportedFilter(_)) => {}
                Err(e) => panic!("filter {filter}: {e}"),
            }
        }
    }
    // Most generated filters must actually be compared.
    let total = CASES * (FILTERS_PER_CASE + FILTERS_PER_CASE / 2);
    assert!(
        checked * 10 >= total * 7,
        "only {checked} of {total} checked: {refused:?}"
    );
}

both_engines!(sql_agrees_with_the_evaluator);
