//! idp-sync's load benchmark (see BENCHMARKS.md):
//!
//! ```text
//! cargo bench --bench idp-sync-bench -- [--engine sqlite|postgres] [--postgres-url URL] [--quick]
//! cargo bench --bench idp-sync-bench -- --callgrind SCENARIO --requests N   # see callgrind.rs
//! ```
//!
//! One process serves, on loopback, the ceilings (a bare axum handler with a fixed JSON
//! body, a bare SQLite insert-per-request endpoint and a bare SQLite read-by-id endpoint,
//! see `ceiling.rs`) and the real idp-sync router over a fresh database, each on a 2-worker
//! runtime of its own; the load generator (`load.rs`, 16 keep-alive connections, closed
//! loop) runs on another. Every figure is printed beside the ceiling measured in the same
//! run. Peak RSS is measured on the real `idp-sync serve` binary, started as a child on the
//! seeded database.

#![allow(
    clippy::panic,
    reason = "a benchmark tool: a failed set-up step ends the run with its message"
)]

mod callgrind;
mod ceiling;
mod load;
mod postgres;

use idp_sync::config::{ConfigHandle, Env};
use idp_sync::domain::{ConnectionId, GroupId, IdpGroup, User, UserId};
use idp_sync::http::{self, AppState};
use idp_sync::store::{Store, UserQuery};
use load::{MakeRequest, Stats, Until, request};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-scim-token-0123456789abcdef";
const CONNECTIONS: usize = 16;
/// Groups, and memberships per user on average (1,000 groups, 1,000,000 memberships at
/// 100,000 users).
const GROUPS: usize = 1_000;
const MEMBERSHIPS_PER_USER: usize = 10;
/// PATCH scenario: requests per group size, members added by each.
const PATCHES: usize = 30;
const PATCH_MEMBERS: usize = 100;

struct Args {
    postgres: bool,
    postgres_url: Option<String>,
    quick: bool,
    /// `--callgrind SCENARIO`: a fixed number of requests for instruction counting.
    callgrind: Option<String>,
    requests: u64,
}

fn args() -> Args {
    let mut a = Args {
        postgres: false,
        postgres_url: None,
        quick: false,
        callgrind: None,
        requests: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--engine" => a.postgres = it.next().as_deref() == Some("postgres"),
            "--postgres-url" => {
                a.postgres = true;
                a.postgres_url = it.next();
            }
            "--quick" => a.quick = true,
            "--callgrind" => a.callgrind = it.next(),
            "--requests" => {
                a.requests = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("--requests takes a number"));
            }
            "--bench" => {} // added by `cargo bench`
            other => panic!("unknown argument {other:?}; see BENCHMARKS.md"),
        }
    }
    a
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

/// One line of the result table.
struct Row {
    name: String,
    stats: Stats,
    /// For a scenario measured in rounds alternating with the ceiling ([`paired`]): the
    /// ceiling of those rounds and each round's ratio.
    paired: Option<Paired>,
    /// Target and whether it was met, in words.
    target: String,
    pass: Option<bool>,
}

impl Row {
    fn new(name: impl Into<String>, stats: Stats, target: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            stats,
            paired: None,
            target: target.into(),
            pass: None,
        }
    }

    /// The share of the ceiling this scenario ran at: the median of its rounds' ratios
    /// when paired, else against the run's ceiling.
    fn ratio(&self, ceiling: f64) -> f64 {
        match &self.paired {
            Some(p) => p.median_ratio(),
            None => self.stats.per_second() / ceiling,
        }
    }
}

/// A scenario measured in rounds, each a slice of the ceiling followed by a slice of the
/// scenario: both see the same load from the rest of the (shared) machine, which moves
/// over seconds and minutes. The ratio judged is the median of the rounds' ratios.
struct Paired {
    ceiling: Stats,
    ratios: Vec<f64>,
}

impl Paired {
    fn median_ratio(&self) -> f64 {
        let mut r = self.ratios.clone();
        r.sort_by(f64::total_cmp);
        match r.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => r[n / 2],
            n => (r[n / 2 - 1] + r[n / 2]) / 2.0,
        }
    }
}

/// Rounds and the length of each slice of a paired measurement.
const ROUNDS: usize = 5;

fn config_text(listen: SocketAddr, url: &str) -> String {
    format!(
        r#"version = 1
[server]
listen = "{listen}"
public_url = "http://{listen}"
[database]
url = "{url}"
[[organizations]]
slug = "acme"
name = "Acme Corp"
[[connections]]
id = "okta"
kind = "okta"
[connections.scim]
token_env = "BENCH_SCIM_TOKEN"
rate_limit_per_second = 10000000
[[mappings]]
connection = "okta"
idp_group = "Team *"
role = "Editor"
organizations = ["acme"]
"#
    )
}

/// The allocator of the `idp-sync` binary (src/main.rs), so that the router measured here
/// allocates as the daemon does.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn user_body(prefix: &str, i: u64) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{prefix}{i}@bench.test","externalId":"{prefix}-ext-{i}","name":{{"givenName":"Bench","familyName":"User {i}"}},"emails":[{{"value":"{prefix}{i}@bench.test","type":"work","primary":true}}],"active":true}}"#
    )
}

fn patch_body(members: &[UserId]) -> String {
    let values: Vec<String> = members
        .iter()
        .map(|m| format!(r#"{{"value":"{m}"}}"#))
        .collect();
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"members","value":[{}]}}]}}"#,
        values.join(",")
    )
}

fn main() {
    let args = args();
    if let Some(scenario) = &args.callgrind {
        callgrind::run(scenario, args.requests);
        return;
    }
    let quick = args.quick;
    let users: u64 = if quick { 10_000 } else { 100_000 };
    let window = if quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(5)
    };
    let slice = window / ROUNDS as u32;
    let server_rt = runtime("server");
    let client_rt = runtime("load");
    let dir = tempfile::Builder::new()
        .prefix("idp-sync-bench-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let cluster = (args.postgres && args.postgres_url.is_none()).then(postgres::Cluster::start);
    let url = match (&args.postgres_url, &cluster) {
        (Some(u), _) => u.clone(),
        (None, Some(c)) => c.url.clone(),
        (None, None) => format!("sqlite://{}/idp-sync.db", dir.path().display()),
    };
    print_header(&args, users);

    // The servers.
    let ceiling_addr = server_rt.block_on(async {
        let app = ceiling::router(dir.path()).await;
        serve(app).await
    });
    let (store, scim_addr) = server_rt.block_on(start_idp_sync(dir.path(), &url));

    let run = |addr: SocketAddr, conns: usize, until: Until, make: MakeRequest| {
        client_rt.block_on(load::run(addr, conns, until, make))
    };
    let get = |path: String| -> MakeRequest {
        Arc::new(move |_| Some(request("GET", &path, None, None)))
    };

    let mut rows: Vec<Row> = Vec::new();
    let ceiling_before = run(
        ceiling_addr,
        CONNECTIONS,
        Until::Elapsed(window),
        get("/ceiling".into()),
    );
    let insert = run(
        ceiling_addr,
        CONNECTIONS,
        Until::Elapsed(window),
        Arc::new(|i| {
            Some(request(
                "POST",
                &format!("/baseline/insert/{i}"),
                None,
                None,
            ))
        }),
    );
    let read = run(
        ceiling_addr,
        CONNECTIONS,
        Until::Elapsed(window),
        Arc::new(|i| {
            let id = 1 + (i.wrapping_mul(7919) % ceiling::READ_ROWS);
            Some(request("GET", &format!("/baseline/read/{id}"), None, None))
        }),
    );

    // POST /Users: the users every later scenario reads.
    let create = run(
        scim_addr,
        CONNECTIONS,
        Until::Requests(users),
        Arc::new(|i| {
            Some(request(
                "POST",
                "/scim/v2/Users",
                Some(TOKEN),
                Some(user_body("user", i)),
            ))
        }),
    );
    let create_rate = create.per_second();
    rows.push(Row::new(
        format!("POST /Users ({users} users)"),
        create,
        "≥ 8,000/s and ≥ 6% of ceiling",
    ));

    let t = Instant::now();
    let seeded = server_rt.block_on(seed(store.as_ref(), users));
    println!(
        "seeded {} groups and {} memberships through the store in {:.1}s",
        GROUPS,
        seeded.memberships,
        t.elapsed().as_secs_f64()
    );
    let ids = Arc::new(seeded.users.clone());

    let by_id = {
        let ids = ids.clone();
        paired(
            &run,
            ceiling_addr,
            scim_addr,
            slice,
            Arc::new(move |i| {
                let id = &ids[(i.wrapping_mul(7919) % ids.len() as u64) as usize];
                Some(request(
                    "GET",
                    &format!("/scim/v2/Users/{id}"),
                    Some(TOKEN),
                    None,
                ))
            }),
        )
    };
    rows.push(by_id.into_row("GET /Users/{id}", "≥ 25% of ceiling, p99 < 5 ms"));

    let filter = paired(
        &run,
        ceiling_addr,
        scim_addr,
        slice,
        Arc::new(move |i| {
            let k = i.wrapping_mul(7919) % users;
            Some(request(
                "GET",
                &format!("/scim/v2/Users?filter=userName%20eq%20%22user{k}%40bench.test%22"),
                Some(TOKEN),
                None,
            ))
        }),
    );
    rows.push(filter.into_row("GET /Users?filter=userName eq", "≥ 20% of ceiling"));

    // PATCH adding 100 members, one connection (latency), first to the ~1,000-member
    // group, then to the 100,000-member one.
    let mut patch_p50 = Vec::new();
    for (group, label, offset) in [
        (&seeded.small, "1,000", 0),
        (&seeded.big, &*format!("{users}"), PATCHES * PATCH_MEMBERS),
    ] {
        let spare = Arc::new(seeded.spare[offset..offset + PATCHES * PATCH_MEMBERS].to_vec());
        let path = format!("/scim/v2/Groups/{group}");
        let stats = run(
            scim_addr,
            1,
            Until::Requests(PATCHES as u64),
            Arc::new(move |i| {
                let i = i as usize;
                let members = &spare[i * PATCH_MEMBERS..(i + 1) * PATCH_MEMBERS];
                Some(request(
                    "PATCH",
                    &path,
                    Some(TOKEN),
                    Some(patch_body(members)),
                ))
            }),
        );
        patch_p50.push(stats.percentile_ms(0.5));
        rows.push(Row::new(
            format!("PATCH +100 members, group of {label}"),
            stats,
            String::new(),
        ));
    }

    let groups_page = run(
        scim_addr,
        1,
        Until::Requests(if quick { 50 } else { 200 }),
        Arc::new(|i| {
            let start = 1 + (i * 100) % 900;
            Some(request(
                "GET",
                &format!("/scim/v2/Groups?excludedAttributes=members&count=100&startIndex={start}"),
                Some(TOKEN),
                None,
            ))
        }),
    );
    rows.push(Row::new(
        "GET /Groups page of 100, no members",
        groups_page,
        "p50 < 20 ms",
    ));

    let ceiling_after = run(
        ceiling_addr,
        CONNECTIONS,
        Until::Elapsed(window),
        get("/ceiling".into()),
    );
    let ceiling = ceiling_before.per_second().max(ceiling_after.per_second());

    // Judge.
    for row in &mut rows {
        let ratio = row.ratio(ceiling);
        let s = &row.stats;
        row.pass = Some(
            s.errors == 0
                && match row.name.as_str() {
                    n if n.starts_with("POST /Users") => s.per_second() >= 8_000.0 && ratio >= 0.06,
                    "GET /Users/{id}" => ratio >= 0.25 && s.percentile_ms(0.99) < 5.0,
                    "GET /Users?filter=userName eq" => ratio >= 0.20,
                    "GET /Groups page of 100, no members" => s.percentile_ms(0.5) < 20.0,
                    _ => true,
                },
        );
    }
    if let [small, big] = patch_p50[..] {
        let ratio = big / small;
        if let Some(row) = rows.iter_mut().rfind(|r| r.name.starts_with("PATCH")) {
            row.target = format!("p50 ≤ 1.5 × p50 at 1,000 (is {ratio:.2}×)");
            row.pass = Some(row.pass == Some(true) && ratio <= 1.5);
        }
    }

    println!();
    println!(
        "{:<40} {:>9} {:>10} {:>8} {:>8} {:>8} {:>7}  target",
        "scenario", "requests", "req/s", "p50 ms", "p99 ms", "ceiling", "errors"
    );
    let line = |name: &str, s: &Stats, ratio: f64, target: &str, pass: Option<bool>| {
        let verdict = match pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "",
        };
        println!(
            "{:<40} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>7.1}% {:>7}  {verdict} {target}",
            name,
            s.ok,
            s.per_second(),
            s.percentile_ms(0.5),
            s.percentile_ms(0.99),
            100.0 * ratio,
            s.errors
        );
        if let Some(e) = &s.first_error {
            println!(
                "    first error: {}",
                e.chars().take(300).collect::<String>()
            );
        }
    };
    let of_ceiling = |s: &Stats| s.per_second() / ceiling;
    line(
        "ceiling: fixed JSON (before)",
        &ceiling_before,
        of_ceiling(&ceiling_before),
        "",
        None,
    );
    line(
        "ceiling: fixed JSON (after)",
        &ceiling_after,
        of_ceiling(&ceiling_after),
        "",
        None,
    );
    line(
        "baseline: SQLite insert per request",
        &insert,
        of_ceiling(&insert),
        "",
        None,
    );
    line(
        "baseline: SQLite read by id",
        &read,
        of_ceiling(&read),
        "",
        None,
    );
    for r in &rows {
        line(&r.name, &r.stats, r.ratio(ceiling), &r.target, r.pass);
        if let Some(p) = &r.paired {
            let rounds: Vec<String> = p
                .ratios
                .iter()
                .map(|x| format!("{:.1}%", 100.0 * x))
                .collect();
            println!(
                "    paired with the ceiling: {ROUNDS} rounds of {:.1} s, ceiling {:.0} req/s in them; round ratios {}; against the run's ceiling {:.1}%",
                slice.as_secs_f64(),
                p.ceiling.per_second(),
                rounds.join(" "),
                100.0 * of_ceiling(&r.stats),
            );
        }
    }
    println!(
        "(ceiling = the higher of the two fixed-JSON runs: {ceiling:.0} req/s; POST /Users ran at {create_rate:.0} users/s; paired scenarios: the median of their rounds' ratios)"
    );

    // Peak RSS of the real binary on the seeded database.
    server_rt.block_on(store.close());
    drop(store);
    let rss = peak_rss(&client_rt, dir.path(), &url, &seeded);
    println!();
    match rss {
        Ok(kib) => println!(
            "peak RSS of `idp-sync serve` (VmHWM) after the read, write, PATCH and list mix on {users} users, {GROUPS} groups, {} memberships: {:.1} MB  {} (target ≤ 150 MB)",
            seeded.memberships,
            kib as f64 / 1024.0,
            if kib as f64 / 1024.0 <= 150.0 {
                "PASS"
            } else {
                "FAIL"
            }
        ),
        Err(e) => println!("peak RSS: not measured: {e}"),
    }
    drop(cluster);
}

/// A paired measurement ([`Paired`]) and the scenario's requests over all its rounds.
struct PairedRun {
    stats: Stats,
    paired: Paired,
}

impl PairedRun {
    fn into_row(self, name: &str, target: &str) -> Row {
        Row {
            paired: Some(self.paired),
            ..Row::new(name, self.stats, target)
        }
    }
}

/// Measures `make` against `addr` in [`ROUNDS`] rounds, each a `slice` of the ceiling
/// then a `slice` of the scenario. Request numbers go on across rounds, so that no round
/// repeats another's requests.
fn paired(
    run: &impl Fn(SocketAddr, usize, Until, MakeRequest) -> Stats,
    ceiling_addr: SocketAddr,
    addr: SocketAddr,
    slice: Duration,
    make: MakeRequest,
) -> PairedRun {
    let mut stats = Stats::default();
    let mut ceiling = Stats::default();
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let fixed = run(
            ceiling_addr,
            CONNECTIONS,
            Until::Elapsed(slice),
            Arc::new(|_| Some(request("GET", "/ceiling", None, None))),
        );
        let offset = (round as u64) << 32;
        let make = make.clone();
        let scenario = run(
            addr,
            CONNECTIONS,
            Until::Elapsed(slice),
            Arc::new(move |i| make(offset + i)),
        );
        ratios.push(scenario.per_second() / fixed.per_second());
        stats.merge(scenario);
        ceiling.merge(fixed);
    }
    PairedRun {
        stats,
        paired: Paired { ceiling, ratios },
    }
}

fn print_header(args: &Args, users: u64) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "idp-sync bench: engine {}, {} mode ({users} users), {cores} cores ({cpu}), {CONNECTIONS} connections, started {}",
        if args.postgres { "postgres" } else { "sqlite" },
        if args.quick { "quick" } else { "full" },
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

struct Seeded {
    /// The users created over HTTP, ordered by id.
    users: Vec<UserId>,
    /// Users in no group, for the PATCH scenarios.
    spare: Vec<UserId>,
    big: GroupId,
    small: GroupId,
    memberships: usize,
}

/// Groups and memberships through the store's own write API (the same rows SCIM writes),
/// plus spare users for the PATCH scenarios. Access is not precomputed for the seeded
/// memberships: only the PATCHed users are recomputed.
async fn seed(store: &dyn Store, users: u64) -> Seeded {
    let connection = ConnectionId::from("okta");
    let mut ids = Vec::with_capacity(users as usize);
    let mut after: Option<UserId> = None;
    loop {
        let page = store
            .list_users(&UserQuery {
                connection: Some(connection.clone()),
                after: after.clone(),
                limit: 1_000,
                ..UserQuery::default()
            })
            .await
            .unwrap_or_else(|e| panic!("list users: {e}"));
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        ids.extend(page.into_iter().map(|u| u.id));
    }
    let now = chrono::Utc::now();
    let mut spare = Vec::new();
    let spare_count = 3 * PATCHES * PATCH_MEMBERS;
    for chunk in (0..spare_count).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for i in chunk {
            let user = User::new(connection.clone(), format!("spare{i}@bench.test"), now);
            tx.create_user(&user)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            spare.push(user.id);
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let n = ids.len();
    let total = n * MEMBERSHIPS_PER_USER;
    let rest_each = (total - n - n.min(1_000)) / (GROUPS - 2);
    let mut memberships = 0;
    let mut big = None;
    let mut small = None;
    for g in 0..GROUPS {
        let group = IdpGroup::new(connection.clone(), format!("Team {g:04}"), now);
        let members: Vec<UserId> = match g {
            0 => ids.clone(),
            1 => ids[..n.min(1_000)].to_vec(),
            _ => (0..rest_each)
                .map(|k| ids[(g * rest_each + k) % n].clone())
                .collect(),
        };
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.create_group(&group)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for chunk in members.chunks(10_000) {
            memberships += tx
                .add_group_members(&group.id, chunk)
                .await
                .unwrap_or_else(|e| panic!("{e}")) as usize;
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        match g {
            0 => big = Some(group.id),
            1 => small = Some(group.id),
            _ => {}
        }
    }
    Seeded {
        users: ids,
        spare,
        big: big.unwrap_or_else(|| panic!("no groups")),
        small: small.unwrap_or_else(|| panic!("no groups")),
        memberships,
    }
}

/// Starts `idp-sync serve` on the database, runs a mix of every scenario against it and
/// returns its VmHWM in KiB.
fn peak_rss(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    url: &str,
    seeded: &Seeded,
) -> Result<u64, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let path = dir.join("serve.toml");
    std::fs::write(&path, config_text(addr, url)).map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("BENCH_SCIM_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        // As the shipped systemd unit and Dockerfile run it (BENCHMARKS.md, "Peak RSS and
        // malloc arenas"); IDP_SYNC_BENCH_MALLOC_ARENA_MAX overrides (0: glibc's default).
        .env(
            "MALLOC_ARENA_MAX",
            std::env::var("IDP_SYNC_BENCH_MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".into()),
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn idp-sync: {e}"))?;
    let pid = child.id();
    let result = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                return Err("idp-sync did not start".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        memory_line(pid, "started");
        let ids = Arc::new(seeded.users.clone());
        let short = Until::Elapsed(Duration::from_secs(2));
        let mut errors = 0;
        let reads = ids.clone();
        errors += load::run(
            addr,
            CONNECTIONS,
            short,
            Arc::new(move |i| {
                let id = &reads[(i.wrapping_mul(7919) % reads.len() as u64) as usize];
                Some(request(
                    "GET",
                    &format!("/scim/v2/Users/{id}"),
                    Some(TOKEN),
                    None,
                ))
            }),
        )
        .await
        .errors;
        memory_line(pid, "reads");
        errors += load::run(
            addr,
            CONNECTIONS,
            Until::Requests(5_000),
            Arc::new(|i| {
                Some(request(
                    "POST",
                    "/scim/v2/Users",
                    Some(TOKEN),
                    Some(user_body("rss", i)),
                ))
            }),
        )
        .await
        .errors;
        memory_line(pid, "5,000 creates");
        errors += load::run(
            addr,
            CONNECTIONS,
            short,
            Arc::new(|i| {
                let start = 1 + (i * 100) % 900;
                Some(request(
                    "GET",
                    &format!(
                        "/scim/v2/Groups?excludedAttributes=members&count=100&startIndex={start}"
                    ),
                    Some(TOKEN),
                    None,
                ))
            }),
        )
        .await
        .errors;
        memory_line(pid, "group pages");
        let spare = Arc::new(seeded.spare[2 * PATCHES * PATCH_MEMBERS..].to_vec());
        let big = format!("/scim/v2/Groups/{}", seeded.big);
        let patch_path = big.clone();
        errors += load::run(
            addr,
            1,
            Until::Requests(10),
            Arc::new(move |i| {
                let i = i as usize;
                let members = &spare[i * PATCH_MEMBERS..(i + 1) * PATCH_MEMBERS];
                Some(request(
                    "PATCH",
                    &patch_path,
                    Some(TOKEN),
                    Some(patch_body(members)),
                ))
            }),
        )
        .await
        .errors;
        memory_line(pid, "PATCHes on the big group");
        // The whole 100,000-member group, members included, a few times at once.
        errors += load::run(
            addr,
            4,
            Until::Requests(8),
            Arc::new(move |_| Some(request("GET", &big, Some(TOKEN), None))),
        )
        .await
        .errors;
        memory_line(pid, "reads of the big group with members");
        if errors > 0 {
            return Err(format!("{errors} requests failed"));
        }
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| "no VmHWM".to_owned())
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    result
}

/// Prints the child's resident and peak memory after a phase of the mix: where the peak
/// is reached.
fn memory_line(pid: u32, after: &str) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0.0, |k| k as f64 / 1024.0)
    };
    println!(
        "  idp-sync serve after {after}: VmRSS {:.1} MB, VmHWM {:.1} MB",
        kib("VmRSS:"),
        kib("VmHWM:")
    );
}

/// Migrates the database at `url` and serves the real idp-sync router (config written to
/// `dir`) on a free loopback port, on the current runtime.
async fn start_idp_sync(dir: &Path, url: &str) -> (Arc<dyn Store>, SocketAddr) {
    let store = idp_sync::store::connect(url, 10)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrate: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let config_path = dir.join("idp-sync.toml");
    std::fs::write(&config_path, config_text(addr, url)).unwrap_or_else(|e| panic!("{e}"));
    let config = ConfigHandle::load(&config_path, Env::from_map([("BENCH_SCIM_TOKEN", TOKEN)]))
        .unwrap_or_else(|e| panic!("config: {e}"));
    idp_sync::telemetry::metrics();
    let app = http::router(AppState::new(store.clone(), config));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (store, addr)
}
