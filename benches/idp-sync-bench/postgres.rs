//! A private PostgreSQL for the bench (the test harness's recipe): `initdb` in a temporary
//! directory and `pg_ctl start` on a free loopback port, as the `postgres` user when we are
//! root. Durability settings match the SQLite engine's (`synchronous = NORMAL` in WAL: a
//! commit is not fsynced, a crash of the process loses nothing): `fsync` stays on and
//! `synchronous_commit = off`. Stopped and deleted on drop.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct Cluster {
    dir: PathBuf,
    pg_ctl: String,
    pub url: String,
}

fn root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn bindir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .unwrap_or_else(|| PathBuf::from("/usr/bin"))
}

fn as_postgres(args: &[&str]) -> Command {
    if root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("idp-sync-bench-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"))
            .keep();
        if root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:").arg(&dir);
                    c
                },
                "chown",
            );
        }
        let bin = bindir();
        let initdb = bin.join("initdb").display().to_string();
        let pg_ctl = bin.join("pg_ctl").display().to_string();
        let data = dir.join("data").display().to_string();
        run(
            as_postgres(&[
                &initdb,
                "-D",
                &data,
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
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(54329);
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c synchronous_commit=off \
             -c shared_buffers=256MB -c max_connections=100",
            dir.display()
        );
        let log = dir.join("log").display().to_string();
        run(
            as_postgres(&[
                &pg_ctl, "-D", &data, "-l", &log, "-o", &options, "-w", "start",
            ]),
            "pg_ctl start",
        );
        Cluster {
            dir,
            pg_ctl,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = as_postgres(&[&self.pg_ctl, "-D", &data, "-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
