//! Unit tests: each grammar feature, each error, the evaluator's semantics, and filters
//! real IdPs send.

use super::*;
use crate::scim::error::{ErrorCode, ScimType};
use crate::scim::schema::{AttrKind, AttributeSchema, CoreSchema};
use serde_json::{Value, json};

fn parse(text: &str) -> Filter {
    Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn s(v: &str) -> CompValue {
    CompValue::String(v.to_owned())
}

fn cmp(attr: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::compare(AttrPath::new(attr), op, value)
}

fn err(text: &str) -> ScimError {
    Filter::parse(text).expect_err(text)
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00u1abcd",
        "userName": "Ana@Acme.com",
        "name": {"givenName": "Ana", "familyName": "Lima"},
        "title": "Engineer",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "ana@acme.com", "type": "work", "primary": true},
            {"value": "ana@home.example", "type": "home"}
        ],
        "meta": {"resourceType": "User", "lastModified": "2024-03-01T10:00:00+01:00"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "department": "R&D", "manager": {"value": "26118915"}
        }
    })
}

fn group() -> Value {
    json!({
        "id": "e9e30dba", "displayName": "Engineering",
        "members": [{"value": "2819c223", "display": "Ana"}, {"value": "902c246b"}]
    })
}

fn hit(filter: &str, resource: &Value) -> bool {
    let f = parse(filter);
    validate(&f, &CoreSchema).unwrap_or_else(|e| panic!("{filter}: {e}"));
    matches(&f, resource, &CoreSchema)
}

#[test]
fn attribute_expressions() {
    assert_eq!(
        parse(r#"userName eq "ana""#),
        cmp("userName", CompareOp::Eq, s("ana"))
    );
    assert_eq!(parse("title pr"), Filter::Present(AttrPath::new("title")));
    for op in CompareOp::ALL {
        let upper = format!("x {} 1", op.as_str().to_uppercase());
        assert_eq!(parse(&upper), cmp("x", op, CompValue::Number(1.into())));
    }
    assert_eq!(
        parse("active eq TRUE"),
        cmp("active", CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        parse("a eq false"),
        cmp("a", CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(parse("a eq null"), cmp("a", CompareOp::Eq, CompValue::Null));
    assert_eq!(
        parse("a gt -1.5e2"),
        cmp(
            "a",
            CompareOp::Gt,
            CompValue::Number(serde_json::Number::from_f64(-150.0).unwrap())
        )
    );
    assert_eq!(
        parse(r#"a eq "\"q\" \u00e9\n""#),
        cmp("a", CompareOp::Eq, s("\"q\" é\n"))
    );
}

#[test]
fn attribute_paths() {
    let f =
        parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"1\"");
    let Filter::Compare { attr, .. } = f else {
        panic!()
    };
    assert_eq!(
        attr.schema.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(attr.name, "employeeNumber");
    assert_eq!(
        parse("name.givenName pr"),
        Filter::Present(AttrPath::with_sub("name", "givenName"))
    );
    assert_eq!(
        parse("members.$ref pr"),
        Filter::Present(AttrPath::with_sub("members", "$ref"))
    );
    // Names keep their case for printing but compare case-insensitively.
    let Filter::Present(upper) = parse("META.LASTMODIFIED pr") else {
        panic!()
    };
    assert_eq!(upper.to_string(), "META.LASTMODIFIED");
    assert!(upper.same_attribute(&AttrPath::with_sub("meta", "lastModified")));
    assert!(!upper.same_attribute(&AttrPath::new("meta")));
}

#[test]
fn precedence_not_over_and_over_or() {
    let (a, b, c) = (parse("a pr"), parse("b pr"), parse("c pr"));
    assert_eq!(
        parse("a pr or b pr and c pr"),
        a.clone().or(b.clone().and(c.clone()))
    );
    assert_eq!(
        parse("a pr and b pr or c pr"),
        a.clone().and(b.clone()).or(c.clone())
    );
    assert_eq!(
        parse("(a pr or b pr) and c pr"),
        a.clone().or(b.clone()).and(c.clone())
    );
    assert_eq!(
        parse("a pr and b pr and c pr"),
        a.clone().and(b.clone()).and(c.clone())
    );
    assert_eq!(
        parse("a pr and (b pr and c pr)"),
        a.clone().and(b.clone().and(c.clone()))
    );
    assert_eq!(parse("not (a pr) and b pr"), a.clone().not().and(b.clone()));
    assert_eq!(parse("NOT(a pr or b pr)"), a.clone().or(b).not());
    assert_eq!(parse("((((a pr))))"), a);
}

#[test]
fn value_paths() {
    let f = parse(r#"emails[type eq "work" and value co "@acme.com"]"#);
    assert_eq!(
        f,
        Filter::ValuePath {
            attr: AttrPath::new("emails"),
            filter: Box::new(cmp("type", CompareOp::Eq, s("work")).and(cmp(
                "value",
                CompareOp::Co,
                s("@acme.com")
            ))),
        }
    );
    let f = parse(r#"emails[type eq "work"] or ims[type eq "xmpp" and not (value pr)]"#);
    assert!(matches!(f, Filter::Or(..)));
}

#[test]
fn attribute_named_like_a_keyword() {
    assert_eq!(parse(r#"not eq "x""#), cmp("not", CompareOp::Eq, s("x")));
    assert_eq!(
        parse("and pr and or pr"),
        Filter::Present(AttrPath::new("and")).and(Filter::Present(AttrPath::new("or")))
    );
}

#[test]
fn canonical_printing() {
    for (input, printed) in [
        (r#"userName Eq "ana""#, r#"userName eq "ana""#),
        ("a pr  AND  ( b pr OR c pr )", "a pr and (b pr or c pr)"),
        ("(a pr and b pr) or c pr", "a pr and b pr or c pr"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("not(a pr)", "not (a pr)"),
        (r#"emails[ type eq "work" ]"#, r#"emails[type eq "work"]"#),
        ("x eq 1.50", "x eq 1.5"),
        (r#"x eq "tab\there""#, r#"x eq "tab\there""#),
    ] {
        let f = parse(input);
        assert_eq!(f.to_string(), printed, "{input}");
        assert_eq!(parse(printed), f);
    }
}

#[test]
fn errors_carry_code_and_position() {
    for (text, code, pos) in [
        ("", ErrorCode::FilterSyntax, 0),
        ("   ", ErrorCode::FilterSyntax, 3),
        ("userName", ErrorCode::FilterSyntax, 8),
        (r#"userName is "x""#, ErrorCode::FilterSyntax, 9),
        ("userName eq", ErrorCode::FilterValue, 11),
        ("userName eq ana", ErrorCode::FilterValue, 12),
        (r#"userName eq "ana"#, ErrorCode::FilterToken, 12),
        ("userName eq 'ana'", ErrorCode::FilterToken, 12),
        (r#"userName eq "a" and"#, ErrorCode::FilterSyntax, 19),
        (r#"userName eq "a" "b""#, ErrorCode::FilterSyntax, 16),
        ("(a pr", ErrorCode::FilterSyntax, 5),
        ("a pr)", ErrorCode::FilterSyntax, 4),
        ("a pr]", ErrorCode::FilterSyntax, 4),
        ("not a pr", ErrorCode::FilterSyntax, 4),
        ("name.givenName.x pr", ErrorCode::FilterAttribute, 0),
        ("foo:bar pr", ErrorCode::FilterAttribute, 0),
        ("urn:x:y: pr", ErrorCode::FilterAttribute, 0),
        ("a-é pr", ErrorCode::FilterToken, 2),
        ("emails[type[value pr]]", ErrorCode::FilterSyntax, 11),
        ("emails[urn:a:b:type pr]", ErrorCode::FilterAttribute, 7),
        ("emails[type.x pr]", ErrorCode::FilterAttribute, 7),
        ("name.givenName[value pr]", ErrorCode::FilterAttribute, 14),
        (
            r#"emails[type eq "work"].value eq "x""#,
            ErrorCode::FilterSyntax,
            22,
        ),
        ("x eq 1e999", ErrorCode::FilterToken, 5),
        ("x eq 01", ErrorCode::FilterToken, 5),
        ("[a pr]", ErrorCode::FilterSyntax, 0),
    ] {
        let e = err(text);
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{text}");
        assert_eq!((e.code(), e.position()), (code, Some(pos)), "{text}: {e}");
    }
    assert!(
        err("userName is \"x\"")
            .detail()
            .contains("unknown operator `is`")
    );
    assert!(err("userName eq ana").detail().contains("\"ana\""));
}

#[test]
fn limits_guard_the_stack() {
    let deep = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Filter::parse(&deep).is_ok());
    let deeper = format!(
        "{}a pr{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(err(&deeper).code(), ErrorCode::FilterTooDeep);
    let nots = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
    assert_eq!(err(&nots).code(), ErrorCode::FilterTooLong);
    let nots = format!("{}a pr{}", "not (".repeat(1_000), ")".repeat(1_000));
    assert_eq!(err(&nots).code(), ErrorCode::FilterTooDeep);
    // A long flat `or` chain is fine: it is a loop, not recursion.
    let ids: Vec<String> = (0..150).map(|i| format!("id eq \"{i:08}\"")).collect();
    let chain = ids.join(" or ");
    assert!(chain.len() < MAX_FILTER_LEN);
    let f = parse(&chain);
    assert_eq!(parse(&f.to_string()), f);
    assert!(hit(&chain, &json!({"id": "00000149"})));
}

#[test]
fn idp_filters_as_sent() {
    let u = user();
    // Okta, on every push: userName lookups, case-insensitively.
    assert!(hit(r#"userName eq "ana@acme.com""#, &u));
    // Entra's provisioning probe: a random GUID never matches.
    assert!(!hit(
        r#"userName eq "7e5d4bf0-8f27-4d44-9d5c-2a6dd0b8fe31""#,
        &u
    ));
    // externalId is caseExact.
    assert!(hit(r#"externalId eq "00u1abcd""#, &u));
    assert!(!hit(r#"externalId eq "00U1ABCD""#, &u));
    assert!(hit(r#"displayName eq "Engineering""#, &group()));
    assert!(hit(r#"members[value eq "2819c223"]"#, &group()));
    assert!(!hit(r#"members[value eq "nobody"]"#, &group()));
    assert!(hit(
        r#"emails[type eq "work" and value co "@acme.com"]"#,
        &u
    ));
    assert!(!hit(
        r#"emails[type eq "home" and value co "@acme.com"]"#,
        &u
    ));
    assert!(hit(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, &u));
    assert!(hit("title pr and userType eq \"Employee\"", &u));
    assert!(!hit("nickName pr and userType eq \"Employee\"", &u));
}

#[test]
fn evaluation_semantics() {
    let u = user();
    // Multi-valued: any value.
    assert!(hit(r#"emails.value ew "home.example""#, &u));
    assert!(hit(r#"emails.type ne "work""#, &u));
    // Complex value compared as a whole stands for its `value`.
    assert!(hit(r#"emails co "@ACME""#, &u));
    // Extension attributes under their URN, and core URN-qualified ones at the top.
    assert!(hit(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        &u
    ));
    assert!(hit(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
        &u
    ));
    assert!(hit(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ana""#,
        &u
    ));
    assert!(!hit(r#"urn:example:other:userName sw "ana""#, &u));
    // Absent attributes.
    assert!(!hit(r#"nickName eq "x""#, &u));
    assert!(hit(r#"nickName ne "x""#, &u));
    assert!(hit("nickName eq null", &u));
    assert!(hit("title ne null", &u));
    // Present: not null, not empty.
    let empty = json!({"title": "", "nickName": null, "emails": [], "name": {"givenName": null}});
    for attr in ["title", "nickName", "emails", "name", "missing"] {
        assert!(!hit(&format!("{attr} pr"), &empty), "{attr}");
    }
    assert!(hit("name pr", &u));
    // Booleans and instants.
    assert!(hit("active eq true", &u));
    assert!(!hit("active eq false", &u));
    assert!(hit(r#"meta.lastModified eq "2024-03-01T09:00:00Z""#, &u));
    assert!(hit(r#"meta.lastModified lt "2024-03-01T09:00:01Z""#, &u));
    assert!(!hit(r#"meta.lastModified gt "2024-03-01T09:00:00Z""#, &u));
    assert!(hit(r#"meta.lastModified eq "2024-03-01T09:00:00.000""#, &u));
    assert!(hit(r#"meta.lastModified ge "2024-03-01T09:00:00""#, &u));
    // Case-insensitive names in the resource too.
    assert!(hit(
        r#"USERNAME eq "ANA@ACME.COM""#,
        &json!({"username": "ana@acme.com"})
    ));
    // Strings order lexicographically, case-folded.
    assert!(hit(r#"title gt "eng""#, &u));
    assert!(hit(r#"title le "ENGINEER""#, &u));
}

#[test]
fn numbers_compare_numerically() {
    struct Numbers;
    impl AttributeSchema for Numbers {
        fn case_exact(&self, _: &AttrPath) -> bool {
            false
        }
        fn kind(&self, path: &AttrPath) -> AttrKind {
            if path.name == "n" {
                AttrKind::Decimal
            } else {
                AttrKind::Integer
            }
        }
    }
    let r = json!({"n": 2.5, "i": -3, "big": 18446744073709551615u64});
    let check = |f: &str| {
        let f = parse(f);
        validate(&f, &Numbers).unwrap();
        matches(&f, &r, &Numbers)
    };
    assert!(check("n gt 2") && check("n lt 2.6") && check("n eq 2.5"));
    assert!(check("i lt 0") && check("i ge -3") && !check("i gt -3"));
    assert!(check("big gt 1") && check("big eq 18446744073709551615"));
    assert!(validate(&parse("i co 1"), &Numbers).is_err());
    assert!(validate(&parse("i eq \"1\""), &Numbers).is_err());
}

#[test]
fn validation_refuses_type_errors() {
    for text in [
        "active gt true",
        "active eq \"true\"",
        "active co \"t\"",
        "emails gt \"a\"",
        "name lt \"x\"",
        "x509Certificates.value gt \"x\"",
        "meta.lastModified gt \"yesterday\"",
        "meta.lastModified gt 5",
        "userName gt null",
        "userName eq 5",
        r#"userName[value eq "x"]"#,
        r#"emails[primary gt true]"#,
    ] {
        let e = validate(&parse(text), &CoreSchema).expect_err(text);
        assert_eq!(
            (e.scim_type(), e.code()),
            (Some(ScimType::InvalidFilter), ErrorCode::FilterType),
            "{text}"
        );
    }
    for text in [
        r#"meta.lastModified sw "2024""#,
        "emails[primary eq true]",
        r#"emails co "@x""#,
        "userName ne null",
        "not (active eq false)",
    ] {
        validate(&parse(text), &CoreSchema).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn longest_chains_fit_a_small_stack() {
    // A chain of ~1,000 operands is one flat node, so printing, checking, evaluating and
    // dropping it need little stack (a binary tree would recurse 1,000 levels deep).
    let unit = "a pr or ";
    let chain = format!("{}a pr", unit.repeat((MAX_FILTER_LEN - 4) / unit.len()));
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let f = parse(&chain);
            let printed = f.to_string();
            assert_eq!(printed, chain);
            validate(&f, &CoreSchema).unwrap();
            assert!(!matches(&f, &json!({}), &CoreSchema));
            drop(f);
            // The deepest tree the nesting limit allows: 16 × `not (… and (… or …`.
            let unit = "not (a pr and (b pr or ";
            let nested = format!(
                "{}c pr{}",
                unit.repeat(MAX_DEPTH / 2),
                "))".repeat(MAX_DEPTH / 2)
            );
            let f = parse(&nested);
            assert_eq!(parse(&f.to_string()), f);
            validate(&f, &CoreSchema).unwrap();
            assert!(matches(&f, &json!({}), &CoreSchema));
        });
    worker.unwrap().join().unwrap();
}
