//! The scim2-tester conformance suite (PyPI, `tests/scim2_tester/`) against the real router,
//! on both engines: every check it has must pass (`run.py` exits 0 and reports 0 failed).
//!
//! The Python side needs nothing done by hand. `IDP_SYNC_SCIM2_TESTER_PYTHON` may name an
//! interpreter that already has the pinned packages (CI pre-creates one); otherwise the
//! first test builds a virtualenv in `target/scim2-tester-venv/<hash of
//! requirements.txt>` (`python3 -m venv` + `pip install -r`, PyPI must be reachable) and
//! later runs reuse it; new pins get a new one. Tests of one process share it through a
//! `OnceLock`; concurrent processes each build in a private directory and rename it into
//! place, the first rename winning, so nobody sees a half-installed venv.

use crate::support::app::{OKTA_TOKEN, TestApp, both_engines_app};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const PYTHON_ENV: &str = "IDP_SYNC_SCIM2_TESTER_PYTHON";
/// The whole suite takes a few seconds; this only stops a hung run.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scim2_tester")
}

/// The interpreter to run `run.py` with, building the venv on first use.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(python);
    }
    PYTHON.get_or_init(ensure_venv).clone().unwrap_or_else(|e| {
        panic!(
            "cannot prepare the scim2-tester virtualenv: {e}\n\
                 (needs python3 with the venv module — Debian: apt-get install python3-venv — \
                 and PyPI; or set {PYTHON_ENV} to a python that has \
                 tests/scim2_tester/requirements.txt installed)"
        )
    })
}

fn ensure_venv() -> Result<PathBuf, String> {
    let requirements = suite_dir().join("requirements.txt");
    let pins = std::fs::read(&requirements).map_err(|e| format!("{requirements:?}: {e}"))?;
    let hash = hex::encode(Sha256::digest(&pins));
    // CARGO_TARGET_TMPDIR is `<target>/tmp`: the venv lives next to it, in `target/`.
    let tmpdir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let root = tmpdir.parent().unwrap_or(tmpdir).join("scim2-tester-venv");
    let venv = root.join(&hash[..16]);
    let python = venv.join("bin/python");
    if python.exists() {
        return Ok(python);
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{root:?}: {e}"))?;
    let building = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(&root)
        .map_err(|e| format!("{root:?}: {e}"))?;
    let tmp = building.path();
    run(Command::new("python3").args(["-m", "venv"]).arg(tmp))?;
    run(Command::new(tmp.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("-r")
        .arg(&requirements))?;
    run(Command::new(tmp.join("bin/python")).args(["-c", "import scim2_tester, httpx2"]))?;
    // A venv finds its packages relative to the interpreter path it is run by, so it may
    // be moved as long as only `bin/python` is used. Losing the race is fine.
    let built = building.keep();
    if std::fs::rename(&built, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&built);
    }
    if python.exists() {
        Ok(python)
    } else {
        Err(format!("{python:?} missing after the venv was built"))
    }
}

fn run(command: &mut Command) -> Result<Output, String> {
    let shown = format!("{command:?}");
    let out = command.output().map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

async fn suite_passes(app: TestApp) {
    let python = tokio::task::spawn_blocking(python)
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
