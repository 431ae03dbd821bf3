//! A scripted browser for SSO flows: an HTTP client that follows nothing by itself
//! (redirects off), keeps cookies per origin the way a browser would send them back
//! (name → value; the paths in play are `/` and `/sso/`, both covering every SSO URL),
//! and reads the auto-submitting forms IdPs answer with so the test can post them.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct ScriptedBrowser {
    http: reqwest::Client,
    /// origin → cookie name → value
    jar: BTreeMap<String, BTreeMap<String, String>>,
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

fn origin(url: &str) -> String {
    let u = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    u.origin().ascii_serialization()
}

impl ScriptedBrowser {
    pub fn new() -> ScriptedBrowser {
        ScriptedBrowser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            ..ScriptedBrowser::default()
        }
    }

    /// The value of cookie `name` set by `url`'s origin.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.jar.get(&origin(url))?.get(name).cloned()
    }

    fn cookie_header(&self, url: &str) -> Option<String> {
        let cookies = self.jar.get(&origin(url))?;
        (!cookies.is_empty()).then(|| {
            cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep_cookies(&mut self, url: &str, res: &reqwest::Response) {
        let jar = self.jar.entry(origin(url)).or_default();
        for value in res.headers().get_all(SET_COOKIE) {
            let text = value.to_str().expect("ascii Set-Cookie");
            let pair = text.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            let expired = text.contains("Max-Age=0") || value.is_empty();
            if expired {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    async fn send(&mut self, url: &str, mut req: reqwest::RequestBuilder) -> reqwest::Response {
        if let Some(cookies) = self.cookie_header(url) {
            req = req.header(COOKIE, cookies);
        }
        if self.json {
            req = req.header("accept", "application/json");
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        self.keep_cookies(url, &res);
        res
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let req = self.http.get(url);
        self.send(url, req).await
    }

    pub async fn post(&mut self, form: &PostForm) -> reqwest::Response {
        let req = self.http.post(&form.action).form(&form.fields);
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
