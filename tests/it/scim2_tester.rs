//! The scim2-tester conformance suite (PyPI, `tests/scim2_tester/`) against the real router,
//! on both engines: every check it has must pass (`run.py` exits 0 and reports 0 failed).
//!
//! The Python side needs nothing done by hand: [`Venv`] builds the pinned virtualenv
//! (`tests/scim2_tester/requirements.txt`) under `target/` on first use, or
//! `IDP_SYNC_SCIM2_TESTER_PYTHON` names a ready interpreter (CI pre-creates one).

use crate::support::app::{OKTA_TOKEN, TestApp, both_engines_app};
use crate::support::venv::Venv;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole suite takes a few seconds; this only stops a hung run.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

static SCIM2_TESTER: Venv = Venv::new(
    "scim2-tester-venv",
    "tests/scim2_tester/requirements.txt",
    "import scim2_tester, httpx2",
    "IDP_SYNC_SCIM2_TESTER_PYTHON",
);

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scim2_tester")
}

async fn suite_passes(app: TestApp) {
    let python = tokio::task::spawn_blocking(|| SCIM2_TESTER.python())
        .await
        .expect("venv task");
    let url = format!("{}/scim/v2", app.base);
    let child = tokio::process::Command::new(&python)
        .arg(suite_dir().join("run.py"))
        .env("IDP_SYNC_SCIM_URL", &url)
        .env("IDP_SYNC_SCIM_TOKEN", OKTA_TOKEN)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SUITE_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("scim2-tester ran over {SUITE_TIMEOUT:?} against {url}"))
        .unwrap_or_else(|e| panic!("run {python:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("scim2-tester: "))
        .unwrap_or("");
    assert!(
        out.status.success() && summary.ends_with(" passed, 0 failed"),
        "scim2-tester failed on {:?} ({}): {summary}\n--- output ---\n{stdout}{stderr}",
        app.db.engine,
        out.status
    );
}
both_engines_app!(suite_passes);
