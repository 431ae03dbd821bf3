#!/usr/bin/env python3
"""Run the scim2-tester conformance suite against a running idp-sync SCIM endpoint.

    python run.py --url http://127.0.0.1:8080/scim/v2 --token "$IDP_SYNC_OKTA_SCIM_TOKEN"

The URL and token may also come from IDP_SYNC_SCIM_URL and IDP_SYNC_SCIM_TOKEN. Every check
the library has is run (all tags, all resource types the server publishes); each result is
printed, then a final line `scim2-tester: N passed, M failed`. The exit status is 1 when any
check failed, 2 when the suite could not run at all.

Passed means SUCCESS, COMPLIANT or ACCEPTABLE (the MUSTs, SHOULDs and MAYs the server meets);
failed means ERROR, CRITICAL or DEVIATION (a SHOULD not followed counts as a failure too: we
want none). SKIPPED results are the library's own (a prerequisite the server does not
offer, e.g. an optional feature it announces as unsupported) and are listed, not counted.
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
FAILED = {Status.ERROR, Status.CRITICAL, Status.DEVIATION}

# Checks this runner does not hold against the server, as (title, resource type or None).
# Each entry must say why the check is wrong per the RFC. Keep it empty when possible.
SKIPPED_CHECKS: dict[tuple[str, str | None], str] = {}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("IDP_SYNC_SCIM_URL"),
        help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2 (env IDP_SYNC_SCIM_URL)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("IDP_SYNC_SCIM_TOKEN"),
        help="a connection's SCIM bearer token (env IDP_SYNC_SCIM_TOKEN)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print each result's data")
    args = parser.parse_args(argv)
    if not args.url or not args.token:
        parser.error("a base URL and a token are required (--url/--token or the env variables)")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    http = httpx2.Client(
        base_url=args.url.rstrip("/"),
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30.0,
    )
    client = SyncSCIMClient(http)
    print(f"scim2-tester against {args.url}", flush=True)
    try:
        results = check_server(client)
    except Exception as exc:  # the suite itself broke: say so and count as failure
        print(f"scim2-tester could not run: {exc!r}")
        print("scim2-tester: 0 passed, 1 failed")
        return 2

    passed = failed = skipped = 0
    for result in results:
        key = (result.title or "", result.resource_type)
        waived = SKIPPED_CHECKS.get(key) or SKIPPED_CHECKS.get((key[0], None))
        where = f"[{result.resource_type}] " if result.resource_type else ""
        if waived is not None:
            skipped += 1
            label = f"SKIPPED-BY-RUNNER ({result.status.name})"
        elif result.status in PASSED:
            passed += 1
            label = result.status.name
        elif result.status in FAILED:
            failed += 1
            label = result.status.name
        else:
            skipped += 1
            label = result.status.name
        print(f"{label:<10} {where}{result.title}")
        if result.reason:
            print(f"    {result.reason}")
        if waived is not None:
            print(f"    not held against the server: {waived}")
        if (args.verbose or result.status in FAILED) and result.data is not None:
            print(f"    data: {result.data!r}")

    print(f"({skipped} skipped)")
    print(f"scim2-tester: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
