//! `--callgrind SCENARIO --requests N`: a fixed amount of work, for counting instructions
//! with `valgrind --tool=callgrind` (`benches/callgrind.sh` runs it and prints the figures).
//!
//! Instruction counts do not move with the machine's load, unlike requests per second on
//! a shared 2-core machine. The mode starts the same servers as the load run (the ceiling
//! and the real router over a fresh SQLite file, each on a 2-worker runtime of its own),
//! seeds [`SEED_USERS`] users over HTTP (`POST /Users`) with ≈ 10 group memberships each,
//! then sends exactly `N` requests of one scenario with the load generator (over loopback,
//! so hyper, the client and the kernel boundary are counted as in the load run). The
//! script runs it twice with different `N` and divides the difference of the two totals by
//! the difference of the `N`s: set-up and teardown cancel out, what is left is the cost of
//! one request — client, server and SQLite worker threads together.
//!
//! Scenarios: `ceiling` (fixed JSON), `get` (`GET /Users/{id}`), `filter`
//! (`GET /Users?filter=userName eq "…"`), all on one connection (one request at a time), and
//! `create` (`POST /Users` on 16 connections, so that group commit forms batches as in the
//! load run).

use super::{CONNECTIONS, TOKEN, load, runtime, serve, user_body};
use idp_sync::domain::{ConnectionId, IdpGroup, UserId};
use idp_sync::store::UserQuery;
use load::{MakeRequest, Until, request};
use std::sync::Arc;

/// Users created before the measured requests.
const SEED_USERS: u64 = 1_000;
/// Groups of the seed, each with [`SEED_USERS`] / 10 members: ≈ 10 groups per user, as in
/// the full load run.
const SEED_GROUPS: usize = 100;

pub fn run(scenario: &str, requests: u64) {
    let server_rt = runtime("server");
    let client_rt = runtime("load");
    let dir = tempfile::Builder::new()
        .prefix("idp-sync-callgrind-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}/idp-sync.db", dir.path().display());
    let (ceiling_addr, store, scim_addr) = server_rt.block_on(async {
        let ceiling_addr = serve(super::ceiling::router(dir.path()).await).await;
        let (store, addr) = super::start_idp_sync(dir.path(), &url).await;
        (ceiling_addr, store, addr)
    });

    // The seed: users over HTTP (their stored resource is what a real create stores), then
    // groups through the store.
    let seeded = client_rt.block_on(load::run(
        scim_addr,
        CONNECTIONS,
        Until::Requests(SEED_USERS),
        Arc::new(|i| {
            Some(request(
                "POST",
                "/scim/v2/Users",
                Some(TOKEN),
                Some(user_body("seed", i)),
            ))
        }),
    ));
    assert_ok("seed users", &seeded);
    let ids = Arc::new(server_rt.block_on(async {
        let mut read = store.read().await.unwrap_or_else(|e| panic!("{e}"));
        let users = read
            .list_users(&UserQuery {
                connection: Some(ConnectionId::from("okta")),
                limit: 10_000,
                ..UserQuery::default()
            })
            .await
            .unwrap_or_else(|e| panic!("list users: {e}"));
        drop(read);
        let ids: Vec<UserId> = users.into_iter().map(|u| u.id).collect();
        let now = chrono::Utc::now();
        let per_group = ids.len() / 10;
        for g in 0..SEED_GROUPS {
            let group = IdpGroup::new(ConnectionId::from("okta"), format!("Team {g:04}"), now);
            let members: Vec<UserId> = (0..per_group)
                .map(|k| ids[(g * per_group / 10 + k * 7) % ids.len()].clone())
                .collect();
            let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
            tx.create_group(&group)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tx.add_group_members(&group.id, &members)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        }
        ids
    }));

    let (addr, connections, make): (_, usize, MakeRequest) = match scenario {
        "ceiling" => (
            ceiling_addr,
            1,
            Arc::new(|_| Some(request("GET", "/ceiling", None, None))),
        ),
        "get" => (
            scim_addr,
            1,
            Arc::new(move |i| {
                let id = &ids[(i.wrapping_mul(7919) % ids.len() as u64) as usize];
                Some(request(
                    "GET",
                    &format!("/scim/v2/Users/{id}"),
                    Some(TOKEN),
                    None,
                ))
            }),
        ),
        "filter" => (
            scim_addr,
            1,
            Arc::new(|i| {
                let k = i.wrapping_mul(7919) % SEED_USERS;
                Some(request(
                    "GET",
                    &format!("/scim/v2/Users?filter=userName%20eq%20%22seed{k}%40bench.test%22"),
                    Some(TOKEN),
                    None,
                ))
            }),
        ),
        "create" => (
            scim_addr,
            CONNECTIONS,
            Arc::new(|i| {
                Some(request(
                    "POST",
                    "/scim/v2/Users",
                    Some(TOKEN),
                    Some(user_body("user", i)),
                ))
            }),
        ),
        other => panic!("unknown callgrind scenario {other:?}: ceiling, get, filter or create"),
    };
    let stats = client_rt.block_on(load::run(
        addr,
        connections,
        Until::Requests(requests),
        make,
    ));
    assert_ok(scenario, &stats);
    println!("callgrind {scenario}: {} requests", stats.ok);
    server_rt.block_on(store.close());
}

fn assert_ok(what: &str, stats: &load::Stats) {
    if stats.errors > 0 {
        panic!(
            "{what}: {} requests failed, first: {:?}",
            stats.errors, stats.first_error
        );
    }
}
