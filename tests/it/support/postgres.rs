//! PostgreSQL for tests: one server per test process, one fresh database per test.
//!
//! With `IDP_SYNC_TEST_POSTGRES_URL` set, that server is used (its databases named
//! `t_<uuid>` are left behind). Otherwise the first test that asks starts a private
//! cluster: `initdb -A trust -U postgres --no-sync` in a temporary directory, then
//! `pg_ctl start` on a free loopback port with `fsync=off` and the socket in the same
//! directory. `initdb` refuses to run as root, so as root both run through
//! `runuser -u postgres --` on a directory owned by `postgres`. Rust tests have no global
//! teardown, so a detached watchdog shell waits for this process to exit, then stops the
//! cluster (`pg_ctl stop -m fast`) and deletes the directory.
//!
//! Binaries: `IDP_SYNC_TEST_PG_BINDIR` if set, else the newest
//! `/usr/lib/postgresql/<version>/bin`, else `PATH`.

use sqlx::{Connection, Executor, PgConnection};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// The URL of a new, empty database of its own for the calling test.
pub async fn fresh_database() -> String {
    let admin = tokio::task::spawn_blocking(admin_url)
        .await
        .expect("postgres start-up task");
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("connect to test server {admin}: {e}"));
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    conn.close().await.ok();
    with_database(&admin, &name)
}

/// A URL of the server's maintenance database (`postgres`), starting the private cluster
/// on first use.
pub fn admin_url() -> String {
    if let Ok(url) = std::env::var("IDP_SYNC_TEST_POSTGRES_URL")
        && !url.is_empty()
    {
        return url;
    }
    SERVER
        .get_or_init(start_cluster)
        .clone()
        .unwrap_or_else(|e| panic!("cannot start a test PostgreSQL: {e}"))
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn bindir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("IDP_SYNC_TEST_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn program(name: &str) -> String {
    bindir()
        .map(|d| d.join(name).display().to_string())
        .unwrap_or_else(|| name.to_owned())
}

/// A command that runs `args` as the postgres user when we are root.
fn as_postgres(args: &[&str]) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).args(args);
        cmd
    } else {
        let mut cmd = Command::new(args[0]);
        cmd.args(&args[1..]);
        cmd
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn start_cluster() -> Result<String, String> {
    let dir = tempfile::Builder::new()
        .prefix("idp-sync-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    if running_as_root() {
        let mut chown = Command::new("chown");
        chown.arg("postgres:").arg(&dir);
        run(chown, "chown postgres")?;
    }
    let data = dir.join("data");
    let (initdb, pg_ctl) = (program("initdb"), program("pg_ctl"));
    run(
        as_postgres(&[
            &initdb,
            "-D",
            path(&data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]),
        "initdb",
    )?;
    // A port found free can be taken before the server binds it: try a few.
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            dir.display()
        );
        let log = dir.join("log");
        let start = as_postgres(&[
            &pg_ctl,
            "-D",
            path(&data),
            "-l",
            path(&log),
            "-o",
            &options,
            "-w",
            "start",
        ]);
        match run(start, "pg_ctl start") {
            Ok(()) => {
                spawn_watchdog(&pg_ctl, &dir, &data)?;
                return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// Stops the cluster and removes its directory once this test process has exited.
fn spawn_watchdog(pg_ctl: &str, dir: &Path, data: &Path) -> Result<(), String> {
    let stop = if running_as_root() {
        format!("runuser -u postgres -- '{pg_ctl}'")
    } else {
        format!("'{pg_ctl}'")
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {stop} -D '{data}' -m fast -w stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("watchdog: {e}"))
}

#[test]
fn database_name_is_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "t_1"),
        "postgres://u@h:5432/t_1"
    );
    assert_eq!(
        with_database("postgres://u@h:5432/postgres?sslmode=disable", "t_1"),
        "postgres://u@h:5432/t_1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t_1"), "postgres://h/t_1");
}
