//! Connectors (DESIGN §10 "Connectors"): an HTTP call to the application's own API, with
//! the URL, headers and body written as minijinja templates.
//!
//! Templates see `event` (the webhook body), `user` and `access` (its parts) and `env`,
//! which holds only the variables the connector lists in `env = [...]`. An undefined name
//! is an error (strict mode), so a typo dead-letters the delivery with the template
//! error instead of sending an empty field.
//!
//! JSON bodies: when the request's `Content-Type` is JSON (the default, `application/json`
//! unless a header sets another), every `{{ … }}` in the body is written JSON-escaped, as
//! the *contents* of a string: a template writes the quotes (`"name": "{{ user.display_name
//! }}"`) and a display name with `"` or `\` cannot break out of them. None/undefined
//! write nothing; `{{ x | tojson }}` writes a whole JSON value (with quotes, or `null`) and
//! is not escaped again. The URL and headers are not escaped (use `| urlencode` in a URL).

use super::http::send;
use super::retry::Failure;
use crate::config::{Connector, expose_secret};
use minijinja::value::Value as TemplateValue;
use minijinja::{Environment, Error as TemplateError, ErrorKind, UndefinedBehavior};
use serde_json::Value;
use std::collections::BTreeMap;

/// Calls `connector` for the event whose webhook body is `event`.
pub async fn deliver(
    client: &reqwest::Client,
    connector: &Connector,
    event_id: &str,
    event: &Value,
) -> Result<(), Failure> {
    let request = build(connector, event_id, event)?;
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| Failure::Permanent(format!("invalid method {:?}", request.method)))?;
    let mut builder = client.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    send(builder).await
}

/// A connector call, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedRequest {
    pub method: String,
    pub url: String,
    /// Includes `Content-Type` (default `application/json`) and `Idempotency-Key` (the
    /// event id) unless the connector sets them.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Renders the URL, headers and body of `connector` for `event`. A template error is
/// permanent: the same template fails the same way on every attempt.
pub fn build(
    connector: &Connector,
    event_id: &str,
    event: &Value,
) -> Result<RenderedRequest, Failure> {
    let env: BTreeMap<&str, &str> = connector
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), expose_secret(v)))
        .collect();
    let ctx = minijinja::context! {
        event => TemplateValue::from_serialize(event),
        user => TemplateValue::from_serialize(&event["user"]),
        access => TemplateValue::from_serialize(&event["access"]),
        env => TemplateValue::from_serialize(&env),
    };
    let fail = |what: &str, e: TemplateError| {
        Failure::Permanent(format!(
            "connector {:?}: {what} template: {e:#}",
            connector.name
        ))
    };
    let plain = environment(false);
    let url = plain
        .render_str(&connector.url, &ctx)
        .map_err(|e| fail("url", e))?;
    let mut headers = Vec::new();
    for (name, template) in &connector.headers {
        let value = plain
            .render_str(template, &ctx)
            .map_err(|e| fail(&format!("header {name}"), e))?;
        headers.push((name.clone(), value));
    }
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    let is_json = content_type
        .as_deref()
        .is_none_or(|t| t.to_ascii_lowercase().contains("json"));
    if content_type.is_none() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("idempotency-key"))
    {
        headers.push(("Idempotency-Key".to_owned(), event_id.to_owned()));
    }
    let body = match &connector.body {
        Some(template) => Some(
            environment(is_json)
                .render_str(template, &ctx)
                .map_err(|e| fail("body", e))?,
        ),
        None => None,
    };
    Ok(RenderedRequest {
        method: connector.method.clone(),
        url,
        headers,
        body,
    })
}

fn environment(json_escape: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if json_escape {
        env.set_formatter(json_string_formatter);
    }
    env
}

/// Writes a value as the contents of a JSON string (see the module docs).
fn json_string_formatter(
    out: &mut minijinja::Output,
    _state: &minijinja::State,
    value: &TemplateValue,
) -> Result<(), TemplateError> {
    let write_failed = |_| TemplateError::new(ErrorKind::WriteFailure, "cannot write output");
    if value.is_safe() {
        return out.write_str(&value.to_string()).map_err(write_failed);
    }
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None => value.to_string(),
    };
    let quoted = serde_json::to_string(&text)
        .map_err(|e| TemplateError::new(ErrorKind::BadSerialization, e.to_string()))?;
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(&quoted);
    out.write_str(inner).map_err(write_failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use serde_json::json;

    fn connector(body: &str) -> Connector {
        Connector {
            name: "app-invite".into(),
            on: Default::default(),
            method: "POST".into(),
            url: "http://127.0.0.1:1/api/users/{{ user.id }}/invite".into(),
            headers: [(
                "Authorization".to_owned(),
                "Bearer {{ env.APP_API_TOKEN }}".to_owned(),
            )]
            .into(),
            body: Some(body.into()),
            env: [("APP_API_TOKEN".to_owned(), SecretString::from("tok"))].into(),
        }
    }

    fn event() -> Value {
        json!({
            "id": "evt_1",
            "user": {"id": "u1", "display_name": "Ana \"The Hammer\" \\ Lima", "email": "ana@acme.com", "external_id": null},
            "access": {"role": "Editor", "organizations": ["acme"]},
        })
    }

    #[test]
    fn json_body_values_are_escaped() {
        let c = connector(
            r#"{"name": "{{ user.display_name }}", "email": "{{ user.email }}", "ext": "{{ user.external_id }}", "orgs": {{ access.organizations | tojson }}}"#,
        );
        let r = build(&c, "evt_1", &event()).unwrap();
        let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["name"], "Ana \"The Hammer\" \\ Lima");
        assert_eq!(body["email"], "ana@acme.com");
        assert_eq!(body["ext"], "");
        assert_eq!(body["orgs"], json!(["acme"]));
        assert_eq!(r.url, "http://127.0.0.1:1/api/users/u1/invite");
        assert!(
            r.headers
                .contains(&("Authorization".into(), "Bearer tok".into()))
        );
        assert!(
            r.headers
                .contains(&("Content-Type".into(), "application/json".into()))
        );
        assert!(
            r.headers
                .contains(&("Idempotency-Key".into(), "evt_1".into()))
        );
    }

    #[test]
    fn unlisted_env_and_typos_are_errors() {
        let c = connector(r#"{"x": "{{ env.HOME }}"}"#);
        assert!(matches!(
            build(&c, "e", &event()),
            Err(Failure::Permanent(_))
        ));
        let c = connector(r#"{"x": "{{ usr.email }}"}"#);
        assert!(matches!(
            build(&c, "e", &event()),
            Err(Failure::Permanent(_))
        ));
    }
}
