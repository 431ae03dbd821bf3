//! Reloading: a [`ConfigHandle`] holds the running config and replaces it only with a valid
//! new one (DESIGN §4: an invalid file never replaces a running valid one). The same inputs
//! loaded twice have the same [`Fingerprint`](super::Fingerprint), so a reload of an
//! unchanged file is [`ReloadOutcome::Unchanged`] and changes nothing.
//!
//! Signals and the app's reaction to a reload (logs `config.reloaded` /
//! `config.reload_refused`, metrics, audit, refusing a mass removal) belong to the app
//! layer: it can call [`ConfigHandle::reload`], or [`ConfigHandle::candidate`], check the
//! candidate, then [`ConfigHandle::apply`]. [`watch_file`] tells it when the file changed.
//!
//! Loading reads files and is synchronous: from async code call `reload` through
//! `tokio::task::spawn_blocking`.

use super::{Config, ConfigErrors, Env, load_with};
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// The running config, shared by every task. Clones are cheap and see the same config.
#[derive(Clone)]
pub struct ConfigHandle {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    env: Env,
    current: RwLock<Arc<Config>>,
    /// Serializes reloads so two of them cannot interleave check and swap.
    reloading: Mutex<()>,
}

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new config replaced the previous one.
    Applied {
        previous: Arc<Config>,
        current: Arc<Config>,
    },
    /// The inputs have the same fingerprint as the running config: nothing to do.
    Unchanged,
    /// The file is invalid; the running config stays.
    Invalid(ConfigErrors),
}

/// A reload that has been read and validated but not applied yet.
#[derive(Debug)]
pub enum Candidate {
    Unchanged,
    Invalid(ConfigErrors),
    Changed(Arc<Config>),
}

impl ConfigHandle {
    /// Loads `path` (overrides and secrets from `env`) and holds it.
    pub fn load(path: impl AsRef<Path>, env: Env) -> Result<Self, ConfigErrors> {
        let config = load_with(path.as_ref(), &env)?;
        Ok(Self::new(config, env))
    }

    /// Holds an already loaded config; reloads re-read `config.source` with `env`.
    pub fn new(config: Config, env: Env) -> Self {
        Self {
            inner: Arc::new(Inner {
                path: config.source.clone(),
                env,
                current: RwLock::new(Arc::new(config)),
                reloading: Mutex::new(()),
            }),
        }
    }

    /// The config in force now. Hold the `Arc` for the duration of one piece of work so it
    /// sees one consistent config.
    pub fn current(&self) -> Arc<Config> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Re-reads the file and validates it, without applying it.
    pub fn candidate(&self) -> Candidate {
        match load_with(&self.inner.path, &self.inner.env) {
            Err(errors) => Candidate::Invalid(errors),
            Ok(next) if next.fingerprint == self.current().fingerprint => Candidate::Unchanged,
            Ok(next) => Candidate::Changed(Arc::new(next)),
        }
    }

    /// Makes `next` the running config; returns the previous one.
    pub fn apply(&self, next: Arc<Config>) -> Arc<Config> {
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, next)
    }

    /// Re-reads the same path and applies it if it is valid and different.
    pub fn reload(&self) -> ReloadOutcome {
        let _one_at_a_time = self
            .inner
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match self.candidate() {
            Candidate::Unchanged => ReloadOutcome::Unchanged,
            Candidate::Invalid(errors) => ReloadOutcome::Invalid(errors),
            Candidate::Changed(next) => {
                let previous = self.apply(next.clone());
                ReloadOutcome::Applied {
                    previous,
                    current: next,
                }
            }
        }
    }
}

impl std::fmt::Debug for ConfigHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigHandle")
            .field("path", &self.inner.path)
            .field("fingerprint", &self.current().fingerprint)
            .finish()
    }
}

/// How long file events are gathered before one notification (editors write in bursts).
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(250);

/// Notifications that a watched config file changed. Keep it alive as long as the watch
/// should run: dropping it stops the watcher.
pub struct FileWatch {
    changes: mpsc::Receiver<()>,
    _watcher: notify::RecommendedWatcher,
}

impl FileWatch {
    /// Waits for the next (debounced) change. `None` when the watcher stopped.
    pub async fn changed(&mut self) -> Option<()> {
        self.changes.recv().await
    }
}

/// Watches `path` for changes. The parent directory is watched, since editors and config
/// management replace the file (write a new one, rename it over) rather than edit it in
/// place. Events are debounced by [`WATCH_DEBOUNCE`]. Must be called inside a Tokio runtime.
pub fn watch_file(path: impl AsRef<Path>) -> Result<FileWatch, notify::Error> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_os_string());
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        let ours = event
            .paths
            .iter()
            .any(|p| name.is_none() || p.file_name() == name.as_deref());
        if ours {
            let _ = raw_tx.send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;

    let (tx, changes) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        while raw_rx.recv().await.is_some() {
            tokio::time::sleep(WATCH_DEBOUNCE).await;
            while raw_rx.try_recv().is_ok() {}
            // A full channel already holds an unread notification: that one covers this.
            if let Err(mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
                break;
            }
        }
    });
    Ok(FileWatch {
        changes,
        _watcher: watcher,
    })
}
