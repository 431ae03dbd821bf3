//! The pysaml2 test IdP (`tests/saml_idp/idp.py`): one process per test process, started
//! on first use on a free loopback port, in the pinned virtualenv built by [`Venv`]
//! (`IDP_SYNC_SAML_IDP_PYTHON` may name a ready interpreter). Rust tests have no global
//! teardown: the IdP watches the pipe on its stdin, which closes when this process exits.
//!
//! The IdP is stateless per request (who signs in and how the response looks travel in
//! the query of its login URL, standing in for its login form), so every test shares it;
//! each test's idp-sync has its own port, hence its own SP entity id, which the IdP
//! fetches on first sight.

use super::venv::Venv;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

static VENV: Venv = Venv::new(
    "saml-idp-venv",
    "tests/saml_idp/requirements.txt",
    "import saml2, cryptography",
    "IDP_SYNC_SAML_IDP_PYTHON",
);

pub struct SamlIdp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Kept open for the life of the process (see the module docs).
    _stdin: Mutex<ChildStdin>,
}

static IDP: OnceLock<Result<SamlIdp, String>> = OnceLock::new();

fn shared() -> &'static SamlIdp {
    IDP.get_or_init(start)
        .as_ref()
        .unwrap_or_else(|e| panic!("cannot start the test SAML IdP: {e}"))
}

fn start() -> Result<SamlIdp, String> {
    let xmlsec = std::env::var("IDP_SYNC_XMLSEC1").unwrap_or_else(|_| "/usr/bin/xmlsec1".into());
    if !Path::new(&xmlsec).exists() {
        return Err(format!(
            "pysaml2 needs the xmlsec1 binary, not found at {xmlsec} \
             (Debian: apt-get install xmlsec1; or set IDP_SYNC_XMLSEC1)"
        ));
    }
    let python = VENV.python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/saml_idp/idp.py");
    let mut child = Command::new(&python)
        .args(["-W", "ignore"])
        .arg(&script)
        .arg("--watch-stdin")
        .env("IDP_SYNC_XMLSEC1", &xmlsec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{python:?} {script:?}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("read the IdP's port: {e}"))?;
    let port = line
        .trim()
        .strip_prefix("saml-idp listening on ")
        .ok_or_else(|| format!("unexpected first line from the IdP: {line:?}"))?
        .to_owned();
    let stdin = child.stdin.take().ok_or("no stdin")?;
    // Nobody waits for the child: it exits when the stdin pipe closes with this process.
    std::mem::forget(child);
    Ok(SamlIdp {
        base: format!("http://127.0.0.1:{port}"),
        _stdin: Mutex::new(stdin),
    })
}

impl SamlIdp {
    /// The shared IdP (starts it, building its venv, on first use).
    pub async fn get() -> &'static SamlIdp {
        tokio::task::spawn_blocking(shared)
            .await
            .expect("IdP start-up task")
    }

    /// Its metadata listing the signing certificates named (`idp`, `idp-next`).
    pub async fn metadata(&self, certs: &str) -> String {
        let url = format!("{}/metadata?certs={certs}", self.base);
        let res = reqwest::get(&url).await.expect("IdP metadata");
        assert!(res.status().is_success(), "{url}: {}", res.status());
        res.text().await.expect("metadata body")
    }
}
