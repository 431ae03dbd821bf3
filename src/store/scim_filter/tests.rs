//! The shapes of the SQL the common IdP queries become (index use), and the escaping.
//! Semantics are tested against the evaluator on real databases in `tests/it/scim_sql`.

use super::*;

fn sql(filter: &str, resource: Resource, dialect: Dialect) -> SqlFilter {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    translate(&f, resource, dialect, 2).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

#[test]
fn user_name_eq_is_a_key_lookup() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let w = sql(r#"userName eq "Ana@Acme.COM""#, Resource::User, dialect);
        assert_eq!(w.sql, "u.user_name_key = $2");
        assert_eq!(w.params, vec![SqlParam::Text("ana@acme.com".into())]);
        let w = sql(r#"externalId eq "00u1""#, Resource::User, dialect);
        assert_eq!(w.sql, "(u.external_id IS NOT NULL AND u.external_id = $2)");
        let w = sql(r#"members[value eq "ABC"]"#, Resource::Group, dialect);
        assert_eq!(
            w.sql,
            "EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = $2)"
        );
        assert_eq!(w.params, vec![SqlParam::Text("abc".into())]);
    }
}

#[test]
fn wildcards_in_values_are_literal() {
    let w = sql(r#"title co "50%_off\\""#, Resource::User, Dialect::Postgres);
    assert_eq!(w.params, vec![SqlParam::Text("%50\\%\\_off\\\\%".into())]);
    let w = sql(r#"externalId sw "a*?[b""#, Resource::User, Dialect::Sqlite);
    assert!(w.sql.contains("GLOB $2"), "{}", w.sql);
    assert_eq!(w.params, vec![SqlParam::Text("a[*][?][[]b*".into())]);
}

#[test]
fn finer_than_microseconds_compares_through_truncation() {
    let w = sql(
        r#"meta.created ge "2026-01-15T10:00:00.0000005Z""#,
        Resource::User,
        Dialect::Postgres,
    );
    assert_eq!(w.sql, "u.created_at > $2");
    let w = sql(
        r#"meta.created eq "2026-01-15T10:00:00.0000005Z""#,
        Resource::User,
        Dialect::Postgres,
    );
    assert_eq!(w.sql, "FALSE");
}

#[test]
fn refuses_what_it_cannot_translate_faithfully() {
    for filter in [
        r#"meta.created co "2026""#,
        r#"meta.lastModified gt "yesterday""#,
        r#"name[givenName eq "a"]"#,
    ] {
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert!(
            matches!(
                translate(&f, Resource::User, Dialect::Sqlite, 2),
                Err(StoreError::UnsupportedFilter(_))
            ),
            "{filter}"
        );
    }
}
