"""Issue 19 benchmark: does the peer's answer take longer for a person it knows?

Starts two linked regions (devstack/federation.py), lets Gelderland-Midden signal one person,
then calls its FederationService.Exchange with Rotterdam's certificate, alternating a real
exchange token of that person ("known") and of a person Gelderland-Midden does not have
("unknown"). Prints both medians and their ratio (known/unknown); the design aim is 1.0
(the call only queues the event; nothing is looked up before the answer).

    .venv/bin/python -m bench.bench_federation [--rounds 500]
"""

import argparse
import statistics

import psycopg

from devstack.federation import exchange_tokens, probe_exchange, running_with_demo
from tests.helpers import Api, valid_bsns, wait_until

BASELINE_RATIO = 1.0


def known_in_match(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT 1 FROM involvements WHERE active").fetchone() is not None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    with running_with_demo() as fed:
        rdam, gm = fed.regions["rotterdam"], fed.regions["gelderland-midden"]
        known, unknown = valid_bsns(2, start=615_000_000)
        pro = gm.demo["professionals"][0]  # type: ignore[attr-defined]
        created = Api(gm.url, pro["apiKey"]).signal(known)
        assert created.status_code == 201, created.text
        tokens = exchange_tokens(rdam, gm.region, [known, unknown])
        # The registration reaches match first, so the "known" person is known there.
        wait_until(lambda: known_in_match(gm.database_urls["match"]))
        timings, answers = probe_exchange(
            fed, "rotterdam", gm.region, {"known": tokens[0], "unknown": tokens[1]}, args.rounds
        )
    assert answers["known"] == answers["unknown"], "the answers differ"
    known_ms = statistics.median(timings["known"]) * 1000
    unknown_ms = statistics.median(timings["unknown"]) * 1000
    print(f"Exchange, {args.rounds} calls each (median):")
    print(f"  known person    {known_ms:8.3f} ms")
    print(f"  unknown person  {unknown_ms:8.3f} ms")
    print(f"  ratio known/unknown {known_ms / unknown_ms:.3f}   (aim {BASELINE_RATIO:.1f})")


if __name__ == "__main__":
    main()
