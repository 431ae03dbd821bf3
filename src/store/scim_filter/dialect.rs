//! The only place where the SCIM filter translation knows which engine it writes for:
//! JSON access, the byte-order collation, and case-sensitive pattern matching.
//!
//! A JSON location is `root` plus a key path. On SQLite `root` is the document column and
//! paths are text (`'$."emails"'`, or `<array path> || '[' || e1.key || ']'` for an
//! element), so every JSON function reads the stored document itself — an element's own
//! text is never parsed. On PostgreSQL `root` is a `jsonb` expression (`u.scim`, `e1.v`).

/// A JSON location: `root`, then (SQLite only) a path prefix expression, then `keys`.
#[derive(Clone, Debug)]
pub(crate) struct JsonLoc {
    pub root: String,
    /// SQLite: a SQL text expression naming the element (`'$."emails"' || '[' || e1.key || ']'`).
    pub prefix: Option<String>,
    pub keys: Vec<String>,
}

impl JsonLoc {
    pub fn at(&self, key: &str) -> JsonLoc {
        let mut loc = self.clone();
        loc.keys.push(key.to_owned());
        loc
    }
}

/// JSON types as the predicates below test them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JType {
    String,
    Number,
    True,
    False,
    Object,
    Array,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Appended to a text expression compared with `<`/`>` or sorted: code-point order,
    /// as Rust compares strings (PostgreSQL's default collation follows the locale).
    pub fn byte_order(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " COLLATE \"C\"",
        }
    }

    fn sqlite_path(loc: &JsonLoc) -> String {
        let keys: String = loc.keys.iter().map(|k| format!(".\"{k}\"")).collect();
        match &loc.prefix {
            None => format!("'${keys}'"),
            Some(prefix) if keys.is_empty() => prefix.clone(),
            Some(prefix) => format!("{prefix} || '{keys}'"),
        }
    }

    /// PostgreSQL: the `jsonb` at `loc` (NULL when missing).
    fn pg_value(loc: &JsonLoc) -> String {
        if loc.keys.is_empty() {
            loc.root.clone()
        } else {
            format!("({} #> '{{{}}}')", loc.root, loc.keys.join(","))
        }
    }

    /// SQLite's `json_type` name, PostgreSQL's `jsonb_typeof` name (NULL when missing).
    fn type_of(self, loc: &JsonLoc) -> String {
        match self {
            Self::Sqlite => format!("json_type({}, {})", loc.root, Self::sqlite_path(loc)),
            Self::Postgres => format!("jsonb_typeof({})", Self::pg_value(loc)),
        }
    }

    /// Whether the value at `loc` has type `t`; never NULL.
    pub fn is(self, loc: &JsonLoc, t: JType) -> String {
        let names = match (self, t) {
            (Self::Sqlite, JType::String) => "'text'",
            (Self::Sqlite, JType::Number) => "'integer', 'real'",
            (Self::Sqlite, JType::True) => "'true'",
            (Self::Sqlite, JType::False) => "'false'",
            (Self::Postgres, JType::String) => "'string'",
            (Self::Postgres, JType::Number) => "'number'",
            (Self::Postgres, JType::True | JType::False) => {
                let want = if t == JType::True { "true" } else { "false" };
                return format!("COALESCE({} = '{want}'::jsonb, FALSE)", Self::pg_value(loc));
            }
            (_, JType::Object) => "'object'",
            (_, JType::Array) => "'array'",
        };
        format!("COALESCE({} IN ({names}), FALSE)", self.type_of(loc))
    }

    /// Whether `loc` holds something other than JSON null; never NULL.
    pub fn non_null(self, loc: &JsonLoc) -> String {
        format!("COALESCE({}, 'null') <> 'null'", self.type_of(loc))
    }

    /// The text of the string at `loc`; use only under `is(loc, String)`.
    pub fn text(self, loc: &JsonLoc) -> String {
        match self {
            Self::Sqlite => format!("json_extract({}, {})", loc.root, Self::sqlite_path(loc)),
            Self::Postgres => format!("({} #>> '{{}}')", Self::pg_value(loc)),
        }
    }

    /// The number at `loc`; use only under `is(loc, Number)` (inside a CASE: PostgreSQL
    /// does not promise to evaluate `AND` left to right).
    pub fn number(self, loc: &JsonLoc) -> String {
        match self {
            Self::Sqlite => self.text(loc),
            Self::Postgres => format!("({} #>> '{{}}')::numeric", Self::pg_value(loc)),
        }
    }

    /// Whether some non-null value of `loc` satisfies `cond`: the array's elements, or the
    /// value itself when it is not an array. `alias` must be unique in the statement.
    pub fn any_value(
        self,
        loc: &JsonLoc,
        alias: &str,
        cond: &mut dyn FnMut(&JsonLoc) -> String,
    ) -> String {
        match self {
            Self::Sqlite => {
                let path = Self::sqlite_path(loc);
                let element = JsonLoc {
                    root: loc.root.clone(),
                    prefix: Some(format!("{path} || '[' || {alias}.key || ']'")),
                    keys: Vec::new(),
                };
                let in_array = cond(&element);
                let alone = cond(loc);
                format!(
                    "(EXISTS (SELECT 1 FROM json_each({root}, {path}) AS {alias} \
                     WHERE {is_array} AND {alias}.type <> 'null' AND ({in_array})) \
                     OR (COALESCE({ty}, 'null') NOT IN ('array', 'null') AND ({alone})))",
                    root = loc.root,
                    is_array = self.is(loc, JType::Array),
                    ty = self.type_of(loc),
                )
            }
            Self::Postgres => {
                let value = Self::pg_value(loc);
                let element = JsonLoc {
                    root: format!("{alias}.v"),
                    prefix: None,
                    keys: Vec::new(),
                };
                format!(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({value}) \
                     = 'array' THEN {value} ELSE jsonb_build_array({value}) END) AS {alias}(v) \
                     WHERE jsonb_typeof({alias}.v) <> 'null' AND ({cond}))",
                    cond = cond(&element),
                )
            }
        }
    }

    /// Whether the object or array at `loc` has a member that is a present scalar (a
    /// non-empty string, a number or a boolean); never NULL.
    pub fn has_present_scalar_member(self, loc: &JsonLoc, alias: &str) -> String {
        match self {
            Self::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each({root}, {path}) AS {alias} \
                 WHERE {alias}.type IN ('integer', 'real', 'true', 'false') \
                 OR ({alias}.type = 'text' AND {alias}.atom <> ''))",
                root = loc.root,
                path = Self::sqlite_path(loc),
            ),
            Self::Postgres => {
                let value = Self::pg_value(loc);
                let present = format!(
                    "jsonb_typeof({alias}.v) IN ('number', 'boolean') \
                     OR (jsonb_typeof({alias}.v) = 'string' AND ({alias}.v #>> '{{}}') <> '')"
                );
                format!(
                    "(EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof({value}) = 'object' \
                     THEN {value} END) AS {alias}(k, v) WHERE {present}) \
                     OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({value}) \
                     = 'array' THEN {value} END) AS {alias}(v) WHERE {present}))"
                )
            }
        }
    }

    /// `expr` matches the LIKE/GLOB `pattern` (a bound parameter) case-sensitively.
    /// SQLite's LIKE ignores ASCII case, so SQLite uses GLOB there.
    pub fn exact_pattern(self, expr: &str, param: &str) -> String {
        match self {
            Self::Sqlite => format!("{expr} GLOB {param}"),
            Self::Postgres => format!("{expr} LIKE {param} ESCAPE '\\'"),
        }
    }

    /// Builds the pattern for [`Dialect::exact_pattern`]: `prefix`/`suffix` wildcards
    /// around `literal`, whose own wildcard characters are escaped.
    pub fn exact_pattern_text(self, literal: &str, leading: bool, trailing: bool) -> String {
        match self {
            Self::Sqlite => {
                let mut out = String::new();
                if leading {
                    out.push('*');
                }
                for c in literal.chars() {
                    match c {
                        '*' | '?' | '[' => {
                            out.push('[');
                            out.push(c);
                            out.push(']');
                        }
                        c => out.push(c),
                    }
                }
                if trailing {
                    out.push('*');
                }
                out
            }
            Self::Postgres => like_pattern(literal, leading, trailing),
        }
    }
}

/// A LIKE pattern (escape character `\`) for `literal` with optional `%` around it.
pub(crate) fn like_pattern(literal: &str, leading: bool, trailing: bool) -> String {
    let mut out = String::new();
    if leading {
        out.push('%');
    }
    for c in literal.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    if trailing {
        out.push('%');
    }
    out
}
