//! The SCIM 2.0 protocol (RFC 7643/7644), without transport or storage: errors and their
//! JSON bodies, the filter language (parser, printer, type check, in-memory evaluator),
//! PATCH paths, and the attribute facts filters depend on.
//!
//! This module must not import sqlx or axum: the http layer turns [`ScimError`] into a
//! response, and the store translates a [`Filter`] into SQL, property-tested against
//! [`filter::matches`]. Only serde_json (values) and chrono (dateTime comparison) are used.

pub mod definitions;
pub mod discovery;
pub mod error;
pub mod filter;
mod lexer;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;

pub use error::{ErrorCode, ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter};
pub use path::{Path, ValueKey};
pub use schema::{AttrKind, AttributeSchema, CoreSchema};
