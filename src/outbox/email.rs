//! Invitation email over SMTP (lettre): `user.invited` and `invitation.renewed` events,
//! destination `email`.
//!
//! **Transport** (DESIGN §10 "Targets"): `smtp://host[:port]` (25 by default) uses
//! STARTTLS when the server offers it; `?tls=required` insists on it and `?tls=none`
//! never uses it. `smtps://host[:port]` (465) is TLS from the first byte. Credentials are
//! `email.smtp_username` and the password secret. TLS is rustls with the webpki roots.
//!
//! **Content**: text and HTML parts rendered from built-in minijinja templates, each
//! overridable by a file in `email.templates_dir` (`invitation.subject.txt`,
//! `invitation.txt`, `invitation.html`). They see `application`, `inviter`,
//! `organizations` (names), `role`, `link`, `expires_at`, `user` and `event`. The text
//! part is sent 8bit (never quoted-printable), so the link `{public_url}/invitations/
//! {token}` appears in it verbatim. `Message-ID: <invitation-{invitation id}@{public_url
//! host}>` is the same on every attempt.
//!
//! **The link** exists only in the delivery's private payload ([`InvitationSecret`]),
//! stored with the event and erased when the delivery ends; the database otherwise
//! holds only the token's hash.
//!
//! **No invitation is mailed twice** (DESIGN §6). SMTP has no idempotency key, so the
//! worker (see `worker.rs`) brackets each send:
//! 1. it first opens and closes a test connection: if the server cannot be reached or
//!    greets badly, nothing was sent and the attempt is retried;
//! 2. it commits an "attempt started" marker on the delivery;
//! 3. it sends. Success records `delivered`; an explicit SMTP refusal (a 4xx or 5xx reply
//!    — the server said it did not take the message) is retried or dead-lettered; any
//!    other failure (connection lost, timeout mid-conversation) leaves it unknown whether
//!    the message was accepted, so the delivery is dead-lettered with that reason;
//! 4. a delivery claimed again with the marker still set belongs to a process that died
//!    between 2 and recording 3: it is dead-lettered, not resent ("interrupted during
//!    SMTP; not resent to avoid a duplicate — resend the invitation from the admin API").
//!
//! A resend from the admin API is a new invitation (new token, new id), so it never
//! collides with this rule.

use super::retry::Failure;
use crate::config::{Config, Email, expose_secret};
use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// The dead-letter reason of a send interrupted by a crash.
pub const INTERRUPTED: &str = "interrupted during SMTP; not resent to avoid a duplicate — \
     resend the invitation from the admin API";

/// SMTP conversations time out after this long (well under the claim lease).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

const SUBJECT: &str = "{{ inviter }} invited you to {{ application }}";
const TEXT: &str = "Hello{% if user.display_name %} {{ user.display_name }}{% endif %},

{{ inviter }} invited you to {{ application }} as {{ role }}{% if organizations %} in {{ organizations | join(\", \") }}{% endif %}.

Accept the invitation:
{{ link }}

The link expires on {{ expires_at }}.
";
const HTML: &str = "<!doctype html>
<html><body>
<p>Hello{% if user.display_name %} {{ user.display_name }}{% endif %},</p>
<p>{{ inviter }} invited you to <strong>{{ application }}</strong> as {{ role }}{% if organizations %} in {{ organizations | join(\", \") }}{% endif %}.</p>
<p><a href=\"{{ link }}\">Accept the invitation</a></p>
<p>Or open this link: {{ link }}</p>
<p>The link expires on {{ expires_at }}.</p>
</body></html>
";

/// The `email` delivery's private payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationSecret {
    /// `{public_url}/invitations/{token}`.
    pub link: String,
    /// The invitation's address (a renewal goes to the original one).
    pub to: String,
}

/// How a send ended, as the worker records it.
#[derive(Debug)]
pub enum SendOutcome {
    Sent,
    /// Nothing was accepted by the server.
    NotSent(Failure),
    /// The message may or may not have been accepted.
    Unknown(String),
}

/// A message ready to send, built before anything is recorded.
pub struct Prepared {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
}

/// Builds the transport and the message for the event `body`.
pub fn prepare(
    config: &Config,
    email: &Email,
    body: &Value,
    secret: &InvitationSecret,
) -> Result<Prepared, Failure> {
    let transport = transport(email)?;
    let message = message(config, email, body, secret)?;
    Ok(Prepared { transport, message })
}

impl Prepared {
    /// Step 1 of the scheme: can we talk to the server at all?
    pub async fn probe(&self) -> Result<(), Failure> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::retryable("SMTP server did not answer")),
            Err(e) => Err(Failure::retryable(format!("SMTP server unreachable: {e}"))),
        }
    }

    /// Step 3: the send itself.
    pub async fn send(&self) -> SendOutcome {
        match self.transport.send(self.message.clone()).await {
            Ok(_) => SendOutcome::Sent,
            Err(e) if e.is_transient() => {
                SendOutcome::NotSent(Failure::retryable(format!("SMTP refused (temporary): {e}")))
            }
            Err(e) if e.is_permanent() => {
                SendOutcome::NotSent(Failure::Permanent(format!("SMTP refused: {e}")))
            }
            Err(e) if e.is_tls() => {
                SendOutcome::NotSent(Failure::retryable(format!("SMTP TLS failed: {e}")))
            }
            Err(e) => SendOutcome::Unknown(format!(
                "SMTP failed mid-conversation ({e}); not resent to avoid a duplicate — \
                 resend the invitation from the admin API"
            )),
        }
    }
}

fn transport(email: &Email) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    let url = &email.smtp_url;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::Permanent("email.smtp_url has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mode = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let params = || {
        TlsParameters::new(host.clone())
            .map_err(|e| Failure::Permanent(format!("SMTP TLS settings: {e}")))
    };
    let (tls, default_port) = match (url.scheme(), mode.as_deref()) {
        ("smtps", _) => (Tls::Wrapper(params()?), 465),
        ("smtp", Some("required")) => (Tls::Required(params()?), 25),
        ("smtp", Some("none")) => (Tls::None, 25),
        ("smtp", _) => (Tls::Opportunistic(params()?), 25),
        (other, _) => {
            return Err(Failure::Permanent(format!(
                "email.smtp_url: unsupported scheme {other}://"
            )));
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(url.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &email.smtp_username {
        let password = email
            .smtp_password
            .as_ref()
            .map(|p| expose_secret(p).to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// The rendered subject, text and HTML of an invitation email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders the templates (built-in, or from `email.templates_dir`).
pub fn render(
    config: &Config,
    email: &Email,
    body: &Value,
    secret: &InvitationSecret,
) -> Result<Rendered, Failure> {
    let read = |name: &str, builtin: &str| -> Result<String, Failure> {
        match &email.templates_dir {
            Some(dir) if dir.join(name).exists() => std::fs::read_to_string(dir.join(name))
                .map_err(|e| Failure::Permanent(format!("email template {name}: {e}"))),
            _ => Ok(builtin.to_owned()),
        }
    };
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    let sources = [
        (
            "invitation.subject.txt",
            read("invitation.subject.txt", SUBJECT)?,
        ),
        ("invitation.txt", read("invitation.txt", TEXT)?),
        ("invitation.html", read("invitation.html", HTML)?),
    ];
    for (name, source) in sources {
        env.add_template_owned(name, source)
            .map_err(|e| Failure::Permanent(format!("email template {name}: {e}")))?;
    }
    let organizations: Vec<String> = body["access"]["organizations"]
        .as_array()
        .map(|orgs| {
            orgs.iter()
                .filter_map(Value::as_str)
                .map(|slug| {
                    config
                        .policy
                        .organizations
                        .get(&slug.into())
                        .map_or_else(|| slug.to_owned(), |o| o.name.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let inviter = body["invitation"]["invited_by"]
        .as_str()
        .or(body["connection"].as_str())
        .unwrap_or("Your administrator");
    let ctx = minijinja::context! {
        application => email.application_name.as_deref().unwrap_or("the application"),
        inviter => inviter,
        organizations => organizations,
        role => body["access"]["role"].as_str().unwrap_or(""),
        link => secret.link,
        expires_at => body["invitation"]["expires_at"].as_str().unwrap_or("(see the link)"),
        user => minijinja::Value::from_serialize(&body["user"]),
        event => minijinja::Value::from_serialize(body),
    };
    let render = |name: &str| -> Result<String, Failure> {
        env.get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| Failure::Permanent(format!("email template {name}: {e:#}")))
    };
    Ok(Rendered {
        subject: render("invitation.subject.txt")?.trim().to_owned(),
        text: render("invitation.txt")?,
        html: render("invitation.html")?,
    })
}

/// The text part as written: 7bit (ASCII) or 8bit, CRLF line endings, never
/// quoted-printable — lettre would choose QP for lines over 76 characters and cut the link
/// with soft line breaks. Lines may be up to 998 bytes (RFC 5322); longer text falls back
/// to lettre's choice.
fn verbatim_body(text: String) -> Body {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let fits = normalized.lines().all(|l| l.len() <= 998) && !normalized.contains('\0');
    if !fits {
        return Body::new(text);
    }
    let encoding = if normalized.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    let crlf = normalized.replace('\n', "\r\n");
    Body::dangerous_pre_encoded(crlf.into_bytes(), encoding)
}

/// `<invitation-{id}@{public_url host}>`.
pub fn message_id(config: &Config, invitation_id: &str) -> String {
    format!(
        "<invitation-{invitation_id}@{}>",
        config.server.public_url.host()
    )
}

fn message(
    config: &Config,
    email: &Email,
    body: &Value,
    secret: &InvitationSecret,
) -> Result<Message, Failure> {
    let rendered = render(config, email, body, secret)?;
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|e| Failure::Permanent(format!("email.from: {e}")))?;
    let to: Mailbox = secret
        .to
        .parse()
        .map_err(|e| Failure::Permanent(format!("invalid recipient address: {e}")))?;
    let invitation_id = body["invitation"]["id"]
        .as_str()
        .ok_or_else(|| Failure::Permanent("event has no invitation id".into()))?;
    let text = verbatim_body(rendered.text);
    let parts = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(rendered.html),
        );
    Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(message_id(config, invitation_id)))
        .multipart(parts)
        .map_err(|e| Failure::Permanent(format!("cannot build the email: {e}")))
}
