//! Recursive-descent parser for filters, shared with PATCH paths ([`crate::scim::path`]).
//!
//! Recursion happens only through [`Parser::nested`], which counts depth, so the stack is
//! bounded by [`MAX_DEPTH`] whatever the input. `and`/`or` chains are loops, not recursion,
//! and make flat nodes.

use super::{AttrPath, CompValue, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_LEN};
use crate::scim::error::{ErrorCode, ScimError, ScimType};
use crate::scim::lexer::{LexError, Tok, Token, tokenize};

/// Which language is being parsed: it decides the `scimType` and codes of errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grammar {
    Filter,
    Path,
}

/// The kinds of problem, mapped to a stable code per grammar.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Problem {
    TooLong,
    TooDeep,
    Token,
    Syntax,
    Attribute,
    Value,
}

impl Grammar {
    fn noun(self) -> &'static str {
        match self {
            Grammar::Filter => "filter",
            Grammar::Path => "path",
        }
    }

    pub(crate) fn error(self, problem: Problem, pos: usize, detail: String) -> ScimError {
        use ErrorCode as C;
        let (scim_type, code) = match self {
            Grammar::Filter => (
                ScimType::InvalidFilter,
                match problem {
                    Problem::TooLong => C::FilterTooLong,
                    Problem::TooDeep => C::FilterTooDeep,
                    Problem::Token => C::FilterToken,
                    Problem::Syntax => C::FilterSyntax,
                    Problem::Attribute => C::FilterAttribute,
                    Problem::Value => C::FilterValue,
                },
            ),
            Grammar::Path => (
                ScimType::InvalidPath,
                match problem {
                    Problem::TooLong => C::PathTooLong,
                    Problem::TooDeep => C::PathTooDeep,
                    Problem::Token => C::PathToken,
                    Problem::Syntax => C::PathSyntax,
                    Problem::Attribute => C::PathAttribute,
                    Problem::Value => C::PathValue,
                },
            ),
        };
        ScimError::new(scim_type, code, detail).at(pos)
    }
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token<'a>>,
    next: usize,
    depth: usize,
    grammar: Grammar,
}

impl<'a> Parser<'a> {
    /// Checks the length and tokenizes; an empty text is an error.
    pub(crate) fn new(src: &'a str, grammar: Grammar) -> Result<Self, ScimError> {
        if src.len() > MAX_FILTER_LEN {
            return Err(grammar.error(
                Problem::TooLong,
                0,
                format!(
                    "the {} is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
                    grammar.noun(),
                    src.len()
                ),
            ));
        }
        let tokens = tokenize(src).map_err(|LexError { pos, message }| {
            grammar.error(Problem::Token, char_offset(src, pos), message)
        })?;
        let parser = Self {
            src,
            tokens,
            next: 0,
            depth: 0,
            grammar,
        };
        if parser.peek() == &Tok::End {
            return Err(parser.error(Problem::Syntax, format!("the {} is empty", grammar.noun())));
        }
        Ok(parser)
    }

    pub(crate) fn peek(&self) -> &Tok<'a> {
        self.tokens.get(self.next).map_or(&Tok::End, |t| &t.tok)
    }

    fn peek_second(&self) -> &Tok<'a> {
        self.tokens.get(self.next + 1).map_or(&Tok::End, |t| &t.tok)
    }

    /// Character offset of the next token.
    fn pos(&self) -> usize {
        let byte = self.tokens.get(self.next).map_or(self.src.len(), |t| t.pos);
        char_offset(self.src, byte)
    }

    pub(crate) fn bump(&mut self) -> Tok<'a> {
        let tok = self.peek().clone();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        tok
    }

    /// An error at the next token.
    pub(crate) fn error(&self, problem: Problem, detail: String) -> ScimError {
        self.grammar.error(problem, self.pos(), detail)
    }

    pub(crate) fn expect(&mut self, want: &Tok<'_>, context: &str) -> Result<(), ScimError> {
        if self.peek() == want {
            self.bump();
            Ok(())
        } else {
            let found = self.peek().describe();
            Err(self.error(
                Problem::Syntax,
                format!("expected {} {context}, found {found}", want.describe()),
            ))
        }
    }

    pub(crate) fn expect_end(&self) -> Result<(), ScimError> {
        match self.peek() {
            Tok::End => Ok(()),
            Tok::RParen => {
                Err(self.error(Problem::Syntax, "`)` without a matching `(`".to_owned()))
            }
            Tok::RBracket => {
                Err(self.error(Problem::Syntax, "`]` without a matching `[`".to_owned()))
            }
            other => Err(self.error(
                Problem::Syntax,
                format!(
                    "expected `and`, `or` or the end of the {}, found {}",
                    self.grammar.noun(),
                    other.describe()
                ),
            )),
        }
    }

    /// Runs `inner` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<T, ScimError>,
    ) -> Result<T, ScimError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                Problem::TooDeep,
                format!("parentheses, `not` and `[` are nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    /// `orExp`. `in_brackets`: inside `attr[...]`, where paths are bare sub-attribute names.
    pub(crate) fn filter(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        let mut operands = vec![self.and_exp(in_brackets)?];
        while self.at_keyword("or") {
            self.bump();
            operands.push(self.and_exp(in_brackets)?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Filter::Or(operands)
        })
    }

    fn and_exp(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        let mut operands = vec![self.unary(in_brackets)?];
        while self.at_keyword("and") {
            self.bump();
            operands.push(self.unary(in_brackets)?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Filter::And(operands)
        })
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        match self.peek() {
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && self.peek_second() == &Tok::LParen => {
                self.bump();
                self.bump();
                let inner = self.nested(|p| {
                    let inner = p.filter(in_brackets)?;
                    p.expect(&Tok::RParen, "to close `not (`")?;
                    Ok(inner)
                })?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.bump();
                self.nested(|p| {
                    let inner = p.filter(in_brackets)?;
                    p.expect(&Tok::RParen, "to close `(`")?;
                    Ok(inner)
                })
            }
            Tok::Word(_) => self.attr_exp(in_brackets),
            other => {
                let found = other.describe();
                Err(self.error(
                    Problem::Syntax,
                    format!("expected an attribute name, `(` or `not (`, found {found}"),
                ))
            }
        }
    }

    fn attr_exp(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        let attr = if in_brackets {
            self.sub_attr_path()?
        } else {
            self.attr_path()?
        };
        match self.peek() {
            Tok::LBracket if in_brackets => Err(self.error(
                Problem::Syntax,
                "a value filter `[...]` cannot contain another one".to_owned(),
            )),
            Tok::LBracket => {
                let filter = self.value_filter(&attr)?;
                if self.grammar == Grammar::Filter && self.peek() == &Tok::Dot {
                    return Err(self.error(
                        Problem::Syntax,
                        format!("`{attr}[...].subAttr` is a PATCH path, not a filter; put the sub-attribute inside the brackets"),
                    ));
                }
                Ok(Filter::ValuePath {
                    attr,
                    filter: Box::new(filter),
                })
            }
            Tok::Word(op) if op.eq_ignore_ascii_case("pr") => {
                self.bump();
                Ok(Filter::Present(attr))
            }
            Tok::Word(op) => match CompareOp::from_keyword(op) {
                Some(op) => {
                    self.bump();
                    let value = self.comp_value(op)?;
                    Ok(Filter::Compare { attr, op, value })
                }
                None => {
                    let found = op.to_string();
                    Err(self.error(
                        Problem::Syntax,
                        format!("unknown operator `{found}` after `{attr}`; expected eq, ne, co, sw, ew, gt, ge, lt, le or pr"),
                    ))
                }
            },
            other => {
                let found = other.describe();
                Err(self.error(
                    Problem::Syntax,
                    format!("expected an operator after `{attr}`, found {found}"),
                ))
            }
        }
    }

    /// `"[" valFilter "]"` after `attr`, which must not have a sub-attribute.
    pub(crate) fn value_filter(&mut self, attr: &AttrPath) -> Result<Filter, ScimError> {
        if attr.sub_attr.is_some() {
            return Err(self.error(
                Problem::Attribute,
                format!("`[...]` filters the values of a multi-valued attribute, not the sub-attribute `{attr}`"),
            ));
        }
        self.bump();
        self.nested(|p| {
            let filter = p.filter(true)?;
            p.expect(&Tok::RBracket, &format!("to close `{attr}[`"))?;
            Ok(filter)
        })
    }

    fn comp_value(&mut self, op: CompareOp) -> Result<CompValue, ScimError> {
        let value = match self.peek() {
            Tok::Str(s) => CompValue::String(s.clone()),
            Tok::Num(n) => CompValue::Number(n.clone()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Tok::Word(w) => {
                let hint = format!(
                    "`{op}` needs a JSON value; a string is written in double quotes: \"{w}\""
                );
                return Err(self.error(Problem::Value, hint));
            }
            other => {
                let found = other.describe();
                return Err(self.error(
                    Problem::Value,
                    format!(
                        "expected a string, number, true, false or null after `{op}`, found {found}"
                    ),
                ));
            }
        };
        self.bump();
        Ok(value)
    }

    /// `[URI ":"] ATTRNAME ["." ATTRNAME]` from the next word.
    pub(crate) fn attr_path(&mut self) -> Result<AttrPath, ScimError> {
        let Tok::Word(word) = self.peek().clone() else {
            let found = self.peek().describe();
            return Err(self.error(
                Problem::Syntax,
                format!("expected an attribute name, found {found}"),
            ));
        };
        let path = split_attr_path(word).map_err(|msg| self.error(Problem::Attribute, msg))?;
        self.bump();
        Ok(path)
    }

    /// A bare `ATTRNAME`: a sub-attribute inside `[...]` or after `].`.
    pub(crate) fn sub_attr_path(&mut self) -> Result<AttrPath, ScimError> {
        let start = self.pos();
        let path = self.attr_path()?;
        if path.schema.is_some() || path.sub_attr.is_some() {
            return Err(self.grammar.error(
                Problem::Attribute,
                start,
                format!("`{path}`: name a sub-attribute alone here, e.g. `type` or `value`"),
            ));
        }
        Ok(path)
    }
}

/// Splits `urn:…:name.sub` into its parts, checking every name.
pub(crate) fn split_attr_path(word: &str) -> Result<AttrPath, String> {
    let (schema, rest) = match word.rfind(':') {
        Some(i) => (Some(&word[..i]), &word[i + 1..]),
        None => (None, word),
    };
    if let Some(schema) = schema {
        let is_urn = schema
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        if !is_urn || schema.ends_with(':') {
            return Err(format!(
                "`{word}`: an attribute may be qualified only by a schema URN (`urn:…:Name`)"
            ));
        }
        if rest.is_empty() {
            return Err(format!(
                "`{word}`: the attribute name after the schema URN is missing"
            ));
        }
    }
    let mut parts = rest.split('.');
    let name = parts.next().unwrap_or_default();
    let sub_attr = parts.next();
    if parts.next().is_some() {
        return Err(format!(
            "`{word}`: an attribute path has at most one sub-attribute (`name.givenName`)"
        ));
    }
    for part in std::iter::once(name).chain(sub_attr) {
        if !is_attr_name(part) {
            return Err(format!(
                "`{word}`: `{part}` is not an attribute name (a letter, then letters, digits, `-` or `_`)"
            ));
        }
    }
    Ok(AttrPath {
        schema: schema.map(str::to_owned),
        name: name.to_owned(),
        sub_attr: sub_attr.map(str::to_owned),
    })
}

/// `ALPHA *(ALPHA / DIGIT / "-" / "_")`, or `$ref` (RFC 7643 §2.1's one exception).
pub(crate) fn is_attr_name(name: &str) -> bool {
    if name.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn char_offset(src: &str, byte: usize) -> usize {
    src.get(..byte).map_or(byte, |s| s.chars().count())
}

/// Parses a whole filter.
pub(crate) fn parse_filter(src: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser::new(src, Grammar::Filter)?;
    let filter = parser.filter(false)?;
    parser.expect_end()?;
    Ok(filter)
}
