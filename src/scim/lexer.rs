//! The tokens shared by the filter parser and the PATCH path parser: words (attribute
//! paths and keywords), JSON strings and numbers, brackets and the `.` that follows `]`.
//!
//! The lexer never decides what a word means (`eq`, `and` and `not` are words like
//! `userName`); the parsers do, so an attribute that happens to be called `not` still parses.
//! It never panics: every problem is a [`LexError`] with a byte offset.

use serde_json::Number;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok<'a> {
    /// A run of `ALPHA / DIGIT / "-" / "_" / ":" / "." / "$"` starting with a letter or `$`.
    Word(&'a str),
    Str(String),
    Num(Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    End,
}

impl Tok<'_> {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Str(_) => "a string".to_owned(),
            Tok::Num(n) => format!("the number {n}"),
            Tok::LParen => "`(`".to_owned(),
            Tok::RParen => "`)`".to_owned(),
            Tok::LBracket => "`[`".to_owned(),
            Tok::RBracket => "`]`".to_owned(),
            Tok::Dot => "`.`".to_owned(),
            Tok::End => "the end of the text".to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub(crate) pos: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '$'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '$')
}

/// Splits `src` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut tokens = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        let start = i;
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '.' => Some(Tok::Dot),
            _ => None,
        };
        if let Some(tok) = single {
            tokens.push(Token { tok, pos: start });
            i += 1;
        } else if c.is_whitespace() {
            i += c.len_utf8();
        } else if is_word_start(c) {
            let len = src[i..]
                .find(|c: char| !is_word_char(c))
                .unwrap_or(src.len() - i);
            i += len;
            tokens.push(Token {
                tok: Tok::Word(&src[start..i]),
                pos: start,
            });
        } else if c == '"' {
            i = string_end(bytes, start)?;
            let value = serde_json::from_str::<String>(&src[start..i]).map_err(|e| LexError {
                pos: start,
                message: format!("invalid string literal: {e}"),
            })?;
            if value.contains('\0') {
                // No stored value can contain NUL (PostgreSQL text refuses it).
                return Err(LexError {
                    pos: start,
                    message: "a string may not contain the NUL character".to_owned(),
                });
            }
            tokens.push(Token {
                tok: Tok::Str(value),
                pos: start,
            });
        } else if c == '-' || c.is_ascii_digit() {
            let len = src[i..]
                .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
                .unwrap_or(src.len() - i);
            i += len;
            let num = parse_number(&src[start..i]).ok_or_else(|| LexError {
                pos: start,
                message: format!("`{}` is not a valid JSON number", &src[start..i]),
            })?;
            tokens.push(Token {
                tok: Tok::Num(num),
                pos: start,
            });
        } else {
            let hint = if c == '\'' {
                "; strings are written in double quotes"
            } else {
                ""
            };
            return Err(LexError {
                pos: start,
                message: format!("unexpected character {c:?}{hint}"),
            });
        }
    }
    tokens.push(Token {
        tok: Tok::End,
        pos: src.len(),
    });
    Ok(tokens)
}

/// The byte offset just past the closing quote of the string starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> Result<usize, LexError> {
    let mut j = start + 1;
    while let Some(&b) = bytes.get(j) {
        match b {
            b'\\' => j += 2,
            b'"' => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(LexError {
        pos: start,
        message: "unterminated string".to_owned(),
    })
}

/// Parses a JSON number (RFC 8259 §6 grammar). Integers stay integers; other numbers go
/// through the standard library's correctly rounded `f64` parser, so that printing a
/// parsed number and parsing it again gives the same value.
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    if !is_json_number(text) {
        return None;
    }
    let integral = !text.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(n) = text.parse::<u64>() {
            return Some(Number::from(n));
        }
        if let Ok(n) = text.parse::<i64>() {
            return Some(Number::from(n));
        }
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok<'_>> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_keep_urns_and_dots_together() {
        assert_eq!(
            toks("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"),
            vec![
                Tok::Word(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
                ),
                Tok::Word("pr"),
                Tok::End
            ]
        );
        assert_eq!(
            toks(r#"emails[type eq "w\"k"].value"#),
            vec![
                Tok::Word("emails"),
                Tok::LBracket,
                Tok::Word("type"),
                Tok::Word("eq"),
                Tok::Str("w\"k".into()),
                Tok::RBracket,
                Tok::Dot,
                Tok::Word("value"),
                Tok::End
            ]
        );
    }

    #[test]
    fn numbers_follow_json() {
        assert_eq!(toks("-12"), vec![Tok::Num(Number::from(-12)), Tok::End]);
        assert_eq!(
            toks("1.5e3"),
            vec![Tok::Num(Number::from_f64(1500.0).unwrap()), Tok::End]
        );
        for bad in ["01", "1.", "1e", "--1", "1e400", "-"] {
            assert!(tokenize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_strings_are_errors() {
        assert_eq!(tokenize(r#"a eq "x"#).unwrap_err().pos, 5);
        assert!(tokenize(r#""\q""#).is_err());
        assert!(tokenize("\"a\\").is_err());
        assert!(
            tokenize("'single'")
                .unwrap_err()
                .message
                .contains("double quotes")
        );
    }
}
