//! Python virtualenvs for the test peers written in Python (the scim2-tester suite, the
//! pysaml2 IdP), built on first use under `target/` from a pinned requirements file.
//!
//! An environment variable may name an interpreter that already has the pinned packages
//! (CI pre-creates one); otherwise the first test builds a virtualenv in
//! `target/<dir>/<hash of requirements.txt>` (`python3 -m venv` + `pip install -r`, PyPI
//! must be reachable) and later runs reuse it; new pins get a new one. Tests of one
//! process share it through a `OnceLock`; concurrent processes each build in a private
//! directory and rename it into place, the first rename winning, so nobody sees a
//! half-installed venv.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub struct Venv {
    /// Directory under `target/` holding the venvs of this peer.
    pub dir: &'static str,
    /// The pinned requirements, relative to the package root.
    pub requirements: &'static str,
    /// Python code that must run once installed (imports of the main packages).
    pub check: &'static str,
    /// Environment variable naming a ready interpreter instead.
    pub python_env: &'static str,
    cell: OnceLock<Result<PathBuf, String>>,
}

impl Venv {
    pub const fn new(
        dir: &'static str,
        requirements: &'static str,
        check: &'static str,
        python_env: &'static str,
    ) -> Self {
        Self {
            dir,
            requirements,
            check,
            python_env,
            cell: OnceLock::new(),
        }
    }

    /// The interpreter to run the peer with, building the venv on first use.
    pub fn python(&self) -> PathBuf {
        if let Some(python) = std::env::var_os(self.python_env).filter(|p| !p.is_empty()) {
            return PathBuf::from(python);
        }
        self.cell
            .get_or_init(|| self.ensure())
            .clone()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot prepare the {} virtualenv: {e}\n\
                     (needs python3 with the venv module — Debian: apt-get install python3-venv — \
                     and PyPI; or set {} to a python that has {} installed)",
                    self.dir, self.python_env, self.requirements
                )
            })
    }

    fn ensure(&self) -> Result<PathBuf, String> {
        let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join(self.requirements);
        let pins = std::fs::read(&requirements).map_err(|e| format!("{requirements:?}: {e}"))?;
        let hash = hex::encode(Sha256::digest(&pins));
        // CARGO_TARGET_TMPDIR is `<target>/tmp`: the venv lives next to it, in `target/`.
        let tmpdir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let root = tmpdir.parent().unwrap_or(tmpdir).join(self.dir);
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
        run(Command::new(tmp.join("bin/python")).args(["-c", self.check]))?;
        // A venv finds its packages relative to the interpreter path it is run by, so it
        // may be moved as long as only `bin/python` is used. Losing the race is fine.
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
