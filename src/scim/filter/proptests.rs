//! Property tests: printing then parsing gives the same tree, the parser never panics and
//! only ever fails with `invalidFilter`, and the evaluator's boolean structure is sound
//! (`not` negates, De Morgan holds, `ne` is `not eq` on present single values).

use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::CoreSchema;
use proptest::prelude::*;
use serde_json::{Value, json};

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => Just("$ref".to_owned()),
        1 => prop::sample::select(vec!["not", "and", "or", "pr", "eq", "true", "null"]).prop_map(str::to_owned),
    ]
}

fn schema_urn() -> impl Strategy<Value = String> {
    "urn:[a-z]{1,6}(:[a-zA-Z0-9.-]{1,6}){0,4}"
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::of(schema_urn()),
        attr_name(),
        prop::option::of(attr_name()),
    )
        .prop_map(|(schema, name, sub_attr)| AttrPath {
            schema,
            name,
            sub_attr,
        })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        // Finite decimals, including ones that print with an exponent.
        (any::<i32>(), -30i32..30).prop_filter_map("finite", |(m, e)| {
            serde_json::Number::from_f64(f64::from(m) * 10f64.powi(e)).map(CompValue::Number)
        }),
        any::<String>().prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

fn boolean_tree(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(Filter::not),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| l.and(r)),
            (inner.clone(), inner).prop_map(|(l, r)| l.or(r)),
        ]
    })
}

/// Filters valid inside `[...]`: bare sub-attribute names, no nested value paths.
fn value_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        attr_name().prop_map(|n| Filter::Present(AttrPath::new(n))),
        (attr_name(), op(), comp_value()).prop_map(|(n, op, v)| Filter::compare(
            AttrPath::new(n),
            op,
            v
        )),
    ];
    boolean_tree(leaf.boxed())
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path = (prop::option::of(schema_urn()), attr_name(), value_filter()).prop_map(
        |(schema, name, f)| Filter::ValuePath {
            attr: AttrPath {
                schema,
                name,
                sub_attr: None,
            },
            filter: Box::new(f),
        },
    );
    let leaf = prop_oneof![
        attr_path().prop_map(Filter::Present),
        (attr_path(), op(), comp_value()).prop_map(|(a, op, v)| Filter::compare(a, op, v)),
        value_path,
    ];
    boolean_tree(leaf.boxed())
}

/// Text made mostly of the filter language's own pieces, to get past the lexer often.
fn filterish_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "userName",
        "emails",
        "name.givenName",
        "urn:a:b:c",
        " eq ",
        " pr",
        " and ",
        " or ",
        "not ",
        "(",
        ")",
        "[",
        "]",
        ".",
        "\"x\"",
        "\"\\u00e9\"",
        "1",
        "-2.5e3",
        "true",
        "null",
        " ",
        "\"",
        "\\",
        ":",
        "$ref",
    ]);
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "ab", "A", ""])
}

/// Small users over a few attributes, so random filters over the same vocabulary match
/// some of them.
fn resource() -> impl Strategy<Value = Value> {
    let email = (word(), prop::sample::select(vec!["work", "home"]))
        .prop_map(|(v, t)| json!({"value": v, "type": t}));
    (
        prop::option::of(word()),
        prop::option::of(word()),
        prop::option::of(any::<bool>()),
        prop::collection::vec(email, 0..3),
        prop::option::of(prop::sample::select(vec![
            "2024-01-01T00:00:00Z",
            "2024-01-01T01:00:00+01:00",
            "2025-06-01T12:00:00Z",
        ])),
    )
        .prop_map(|(user_name, title, active, emails, modified)| {
            let mut r = json!({"emails": emails, "meta": {"lastModified": modified}});
            if let Some(obj) = r.as_object_mut() {
                obj.insert(
                    "userName".into(),
                    user_name.map_or(Value::Null, Value::from),
                );
                obj.insert("title".into(), title.map_or(Value::Null, Value::from));
                if let Some(active) = active {
                    obj.insert("active".into(), Value::from(active));
                }
            }
            r
        })
}

fn path_of(text: &str) -> AttrPath {
    match text.split_once('.') {
        Some((name, sub)) => AttrPath::with_sub(name, sub),
        None => AttrPath::new(text),
    }
}

/// Filters over the same vocabulary as [`resource`].
fn resource_filter() -> impl Strategy<Value = Filter> {
    let string_attr = prop::sample::select(vec![
        "userName",
        "title",
        "USERNAME",
        "emails.value",
        "emails.type",
        "emails",
    ]);
    let leaf = prop_oneof![
        (string_attr.clone(), op(), word()).prop_map(|(a, op, w)| Filter::compare(
            path_of(a),
            op,
            CompValue::String(w.to_owned())
        )),
        string_attr.prop_map(|a| Filter::Present(path_of(a))),
        any::<bool>().prop_map(|b| Filter::compare(
            AttrPath::new("active"),
            CompareOp::Eq,
            CompValue::Bool(b)
        )),
        (
            op(),
            prop::sample::select(vec!["2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"])
        )
            .prop_map(|(op, t)| {
                Filter::compare(
                    AttrPath::with_sub("meta", "lastModified"),
                    op,
                    CompValue::String(t.into()),
                )
            }),
        (word(), prop::sample::select(vec!["work", "home"])).prop_map(|(v, t)| Filter::ValuePath {
            attr: AttrPath::new("emails"),
            filter: Box::new(
                Filter::compare(
                    AttrPath::new("type"),
                    CompareOp::Eq,
                    CompValue::String(t.into())
                )
                .and(Filter::compare(
                    AttrPath::new("value"),
                    CompareOp::Co,
                    CompValue::String(v.into())
                ))
            ),
        }),
    ];
    boolean_tree(leaf.boxed())
}

proptest! {

    #[test]
    fn print_then_parse_is_identity(f in filter()) {
        let printed = f.to_string();
        let parsed = Filter::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(parsed, f);
    }

    #[test]
    fn parser_never_panics_on_any_text(text in any::<String>()) {
        check_parse(&text)?;
    }

    #[test]
    fn parser_never_panics_on_filterish_text(text in filterish_text()) {
        check_parse(&text)?;
    }

    #[test]
    fn checking_and_evaluating_never_panic(f in filter(), r in resource()) {
        let _ = validate(&f, &CoreSchema);
        let _ = matches(&f, &r, &CoreSchema);
    }

    #[test]
    fn not_negates(f in resource_filter(), r in resource()) {
        prop_assert_eq!(matches(&f.clone().not(), &r, &CoreSchema), !matches(&f, &r, &CoreSchema));
    }

    #[test]
    fn de_morgan(a in resource_filter(), b in resource_filter(), r in resource()) {
        let m = |f: &Filter| matches(f, &r, &CoreSchema);
        prop_assert_eq!(m(&a.clone().and(b.clone()).not()), m(&a.clone().not().or(b.clone().not())));
        prop_assert_eq!(m(&a.clone().or(b.clone()).not()), m(&a.not().and(b.not())));
    }

    #[test]
    fn ne_is_not_eq_on_present_single_values(w in word(), r in resource()) {
        for attr in ["userName", "title"] {
            if r[attr].is_string() {
                let eq = Filter::compare(AttrPath::new(attr), CompareOp::Eq, CompValue::String(w.into()));
                let ne = Filter::compare(AttrPath::new(attr), CompareOp::Ne, CompValue::String(w.into()));
                prop_assert_eq!(matches(&ne, &r, &CoreSchema), matches(&eq.not(), &r, &CoreSchema));
            }
        }
    }

    #[test]
    fn printing_keeps_meaning(f in resource_filter(), r in resource()) {
        let reparsed = Filter::parse(&f.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(matches(&reparsed, &r, &CoreSchema), matches(&f, &r, &CoreSchema));
    }
}

fn check_parse(text: &str) -> Result<(), TestCaseError> {
    match Filter::parse(text) {
        Ok(f) => {
            let again = Filter::parse(&f.to_string())
                .map_err(|e| TestCaseError::fail(format!("{f}: {e}")))?;
            prop_assert_eq!(again, f);
        }
        Err(e) => {
            prop_assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
            prop_assert!(e.position().is_some_and(|p| p <= text.chars().count()));
        }
    }
    Ok(())
}
