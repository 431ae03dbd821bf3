//! SCIM filters (RFC 7644 §3.4.2.2): the syntax tree, its parser, a canonical printer, a
//! type check against a schema ([`validate`]) and an in-memory evaluator ([`matches`]).
//!
//! Grammar (the RFC's ABNF, with the leniencies real clients need):
//!
//! ```text
//! FILTER    = orExp
//! orExp     = andExp *("or" andExp)          ; and binds tighter than or
//! andExp    = unary *("and" unary)
//! unary     = "not" "(" FILTER ")" / "(" FILTER ")" / attrExp / valuePath
//! valuePath = attrPath "[" valFilter "]"     ; valFilter: FILTER over sub-attributes, no nested [ ]
//! attrExp   = attrPath "pr" / attrPath compareOp compValue
//! attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]
//! ```
//!
//! Keywords (`and`, `eq`, `pr`, `true`…) and attribute names are case-insensitive;
//! [`AttrPath`] keeps the text as written (for printing and errors) and compares
//! case-insensitively through [`AttrPath::same_attribute`]. Whitespace between tokens may be
//! any amount. Attacker-controlled text cannot exhaust the stack: the filter is at most
//! [`MAX_FILTER_LEN`] bytes and parentheses, `not` and brackets nest at most [`MAX_DEPTH`]
//! levels; every failure is a [`ScimError`] with `scimType` `invalidFilter` and a position.
//!
//! `and`/`or` chains are stored flat (see [`Filter`]), so no chain, however long, makes the
//! tree deep.
//!
//! Printing ([`fmt::Display`]) gives a canonical form: lowercase keywords, one space between
//! tokens, parentheses only where precedence needs them, JSON-escaped strings; parsing the
//! printed text gives back the same tree.

mod eval;
pub(crate) mod parser;

use super::error::ScimError;
use serde_json::Number;
use std::fmt;

pub use eval::{matches, validate};

/// Longest filter (in bytes) the parser reads: enough for a `.search` that lists a hundred
/// ids joined by `or`.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// Deepest nesting of parentheses, `not (…)` and `[…]` the parser accepts.
pub const MAX_DEPTH: usize = 32;

/// The core schema URNs' common prefix: attributes qualified with such a URN live at the
/// top level of a resource, not under an extension key.
pub const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

/// `[schema URN ":"] name ["." sub_attr]`, as written by the client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub schema: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path without schema or sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            schema: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// `name.sub_attr`.
    pub fn with_sub(name: impl Into<String>, sub_attr: impl Into<String>) -> Self {
        Self {
            schema: None,
            name: name.into(),
            sub_attr: Some(sub_attr.into()),
        }
    }

    /// Whether both paths name the same attribute (names and URNs compare case-insensitively).
    pub fn same_attribute(&self, other: &AttrPath) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        };
        self.name.eq_ignore_ascii_case(&other.name)
            && eq(&self.sub_attr, &other.sub_attr)
            && eq(&self.schema, &other.schema)
    }

    /// `name` or `name.sub_attr` in lowercase, without the schema: the key schema tables use.
    pub fn normalized_name(&self) -> String {
        match &self.sub_attr {
            Some(sub) => format!("{}.{}", self.name, sub).to_ascii_lowercase(),
            None => self.name.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The comparison operators of RFC 7644 table 3 (`pr` is [`Filter::Present`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        Self::Eq,
        Self::Ne,
        Self::Co,
        Self::Sw,
        Self::Ew,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// The operator a keyword names, whatever its case.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// `gt`, `ge`, `lt`, `le`: meaningless for booleans, binary and complex values.
    pub const fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    /// `co`, `sw`, `ew`: only for strings.
    pub const fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value: a JSON literal other than an array or object.
#[derive(Clone, Debug, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => {
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

/// A parsed filter.
///
/// `and` and `or` chains are flat: `a and b and c` is `And([a, b, c])`, so the tree's depth
/// follows the nesting of parentheses (bounded by [`MAX_DEPTH`]), not the length of a chain,
/// and everything that walks it (printing, evaluation, SQL translation, drop) recurses only
/// that deep. Parentheses the client wrote around a same-operator chain are kept:
/// `a and (b and c)` is `And([a, And([b, c])])`. `And` and `Or` have at least two operands
/// (the parser and the builders [`Filter::and`]/[`Filter::or`] never make fewer).
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare {
        attr: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `not (filter)`
    Not(Box<Filter>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`, whose
    /// attribute paths name sub-attributes of `attr`.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses a filter; errors are `invalidFilter`.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        parser::parse_filter(text)
    }

    pub fn compare(attr: AttrPath, op: CompareOp, value: CompValue) -> Self {
        Self::Compare { attr, op, value }
    }

    /// `self and other`, as the parser reads it: an `And` on the left is extended, so
    /// `a.and(b).and(c)` is `a and b and c`, while `a.and(b.and(c))` is `a and (b and c)`.
    pub fn and(self, other: Filter) -> Self {
        match self {
            Self::And(mut operands) => {
                operands.push(other);
                Self::And(operands)
            }
            first => Self::And(vec![first, other]),
        }
    }

    /// `self or other`; an `Or` on the left is extended (see [`Filter::and`]).
    pub fn or(self, other: Filter) -> Self {
        match self {
            Self::Or(mut operands) => {
                operands.push(other);
                Self::Or(operands)
            }
            first => Self::Or(vec![first, other]),
        }
    }

    #[allow(clippy::should_implement_trait)] // `!` on a filter would read oddly.
    pub fn not(self) -> Self {
        Self::Not(Box::new(self))
    }
}

impl std::str::FromStr for Filter {
    type Err = ScimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Writes `operands` joined by `keyword`, parenthesising those `needs_parens` selects.
fn write_chain(
    f: &mut fmt::Formatter<'_>,
    operands: &[Filter],
    keyword: &str,
    needs_parens: fn(&Filter) -> bool,
) -> fmt::Result {
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            write!(f, " {keyword} ")?;
        }
        if needs_parens(operand) {
            write!(f, "({operand})")?;
        } else {
            write!(f, "{operand}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present(attr) => write!(f, "{attr} pr"),
            Self::Compare { attr, op, value } => write!(f, "{attr} {op} {value}"),
            Self::Not(inner) => write!(f, "not ({inner})"),
            // `and` binds tighter than `or`; a chain inside a chain of the same operator
            // came from parentheses and keeps them.
            Self::And(operands) => write_chain(f, operands, "and", |o| {
                matches!(o, Self::And(_) | Self::Or(_))
            }),
            Self::Or(operands) => write_chain(f, operands, "or", |o| matches!(o, Self::Or(_))),
            Self::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
