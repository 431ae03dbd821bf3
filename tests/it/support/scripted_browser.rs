//! A scripted browser for SSO flows: an HTTP client that follows nothing by itself
//! (redirects off), keeps cookies per origin the way a browser would send them back
//! (name → value; the paths in play are `/` and `/sso/`, both covering every SSO URL),
//! and reads the auto-submitting forms IdPs answer with so the test can post them.

use reqwest::Response;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// [`HttpBrowser`] as the SAML tests drive it: asks for JSON when `json` is set, and posts
/// the forms IdP pages answer with.
#[derive(Default)]
pub struct ScriptedBrowser {
    inner: HttpBrowser,
    /// Ask for JSON (refusals then come as `{"error": {"code", "message"}}`).
    pub json: bool,
}

/// A form an IdP page posts: where to, and its fields.
#[derive(Clone, Debug)]
pub struct PostForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl PostForm {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

impl ScriptedBrowser {
    pub fn new() -> ScriptedBrowser {
        ScriptedBrowser::default()
    }

    /// The value of cookie `name` set by `url`'s origin.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.inner.cookie(url, name)
    }

    async fn send(&mut self, url: &str, mut req: reqwest::RequestBuilder) -> reqwest::Response {
        if self.json {
            req = req.header("accept", "application/json");
        }
        self.inner.send(url, req).await
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let req = self.inner.client().get(url);
        self.send(url, req).await
    }

    pub async fn post(&mut self, form: &PostForm) -> reqwest::Response {
        let req = self.inner.client().post(&form.action).form(&form.fields);
        self.send(&form.action, req).await
    }

    /// The auto-submitting form of an IdP page.
    pub async fn form_of(res: reqwest::Response) -> PostForm {
        let status = res.status();
        let body = res.text().await.expect("page");
        assert_eq!(status, 200, "IdP page: {body}");
        parse_form(&body).unwrap_or_else(|| panic!("no form in {body}"))
    }
}

/// `Location` of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location ({})", res.status()))
        .to_str()
        .expect("Location")
        .to_owned()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn parse_form(html: &str) -> Option<PostForm> {
    let form_start = html.find("<form")?;
    let form_tag = &html[form_start..form_start + html[form_start..].find('>')?];
    let action = attribute(form_tag, "action")?;
    let mut fields = Vec::new();
    let mut rest = &html[form_start..];
    while let Some(i) = rest.find("<input") {
        let tag = &rest[i..i + rest[i..].find('>')?];
        if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
            fields.push((name, value));
        }
        rest = &rest[i + tag.len()..];
    }
    Some(PostForm { action, fields })
}

/// A browser: cookies per origin (`scheme://host:port`), no automatic redirects.
pub struct HttpBrowser {
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpBrowser {
    /// Its HTTP client (redirects off), for requests [`Self::send`] then sends.
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::default(),
        }
    }

    fn cookie_header(&self, url: &reqwest::Url) -> Option<String> {
        let jar = self.cookies.lock().unwrap();
        let cookies = jar.get(&origin(url))?;
        (!cookies.is_empty()).then(|| {
            cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep_cookies(&self, url: &reqwest::Url, response: &Response) {
        let mut jar = self.cookies.lock().unwrap();
        let cookies = jar.entry(origin(url)).or_default();
        for header in response.headers().get_all(SET_COOKIE) {
            let text = header.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.to_ascii_lowercase().contains("max-age=0")
                    || text
                        .to_ascii_lowercase()
                        .contains("expires=thu, 01 jan 1970");
                if value.is_empty() || expired {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
    }

    /// The cookie `name` this browser holds for `url`'s origin.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).expect("url");
        self.cookies
            .lock()
            .unwrap()
            .get(&origin(&url))?
            .get(name)
            .cloned()
    }

    /// Sends `request` (to `url`) with this browser's cookies and keeps the ones it sets.
    pub async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Response {
        let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let request = match self.cookie_header(&parsed) {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        self.keep_cookies(&parsed, &response);
        response
    }

    pub async fn get(&self, url: &str) -> Response {
        self.send(url, self.http.get(url)).await
    }

    /// GET asking for JSON (`Accept: application/json`).
    pub async fn get_json(&self, url: &str) -> Response {
        self.send(url, self.http.get(url).header("accept", "application/json"))
            .await
    }

    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(url, request).await
    }

    /// Follows redirects from `url` until a response is not a redirect or its target
    /// starts with `stop_at`; returns that response's URL and the response.
    pub async fn follow(&self, url: &str, stop_at: &str) -> (String, Response) {
        let mut url = url.to_owned();
        for _ in 0..20 {
            let response = self.get(&url).await;
            let Some(next) = redirect_target(&url, &response) else {
                return (url, response);
            };
            if next.starts_with(stop_at) {
                return (next, response);
            }
            url = next;
        }
        panic!("more than 20 redirects from {url}");
    }
}

/// The absolute target of a redirect response, if it is one.
pub fn redirect_target(from: &str, response: &Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let target = response.headers().get(LOCATION)?.to_str().ok()?;
    let base = reqwest::Url::parse(from).ok()?;
    Some(base.join(target).ok()?.to_string())
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
