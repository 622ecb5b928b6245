"""Pattern matching speed: compile, one pattern, and 10,000 EventBridge patterns per event.

Run ``python -m bench.matching_bench`` (or ``python bench/matching_bench.py``). Prints a table and
one JSON line. Patterns and events are generated from a fixed seed so runs are comparable.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.matching import CompiledPattern, PatternIndex, compile_pattern

AWS_SOURCES = {
    "aws.ec2": ["EC2 Instance State-change Notification", "EC2 Spot Instance Interruption Warning"],
    "aws.s3": ["Object Created", "Object Deleted", "Object Restore Completed"],
    "aws.autoscaling": ["EC2 Instance Launch Successful", "EC2 Instance Terminate Successful"],
    "aws.codepipeline": ["CodePipeline Pipeline Execution State Change"],
    "aws.ecs": ["ECS Task State Change", "ECS Container Instance State Change"],
    "aws.health": ["AWS Health Event"],
    "aws.guardduty": ["GuardDuty Finding"],
    "aws.cloudtrail": ["AWS API Call via CloudTrail"],
    "aws.rds": ["RDS DB Instance Event", "RDS DB Snapshot Event"],
    "aws.lambda": ["Lambda Function Invocation Result - Failure"],
}
STATES = ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]
REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
API_CALLS = ["RunInstances", "CreateBucket", "PutObject", "DeleteObject", "AssumeRole"]
DOMAINS = ["orders", "payments", "shipping", "inventory", "users", "billing", "search", "auth"]
EVENT_TYPES = ["Created", "Updated", "Deleted", "Failed", "Completed", "Requested", "Approved"]
TIERS = ["free", "basic", "pro", "enterprise"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "AU", "CA", "NL"]
ACCOUNTS = [f"{n:012d}" for n in range(111111111111, 111111111111 + 40 * 7919, 7919)]


def custom_source(rng: random.Random) -> str:
    return f"com.acme{rng.randrange(60)}.{rng.choice(DOMAINS)}"


def custom_detail_type(rng: random.Random) -> str:
    return f"{rng.choice(DOMAINS).title()}{rng.choice(EVENT_TYPES)}"


def aws_pattern(rng: random.Random) -> dict[str, Any]:
    source = rng.choice(list(AWS_SOURCES))
    pattern: dict[str, Any] = {"source": [source]}
    roll = rng.random()
    if roll < 0.6:
        pattern["detail-type"] = rng.sample(AWS_SOURCES[source], 1)
    if source == "aws.ec2" and rng.random() < 0.7:
        pattern["detail"] = {"state": rng.sample(STATES, rng.randint(1, 2))}
    elif source == "aws.s3" and rng.random() < 0.7:
        bucket = f"bucket-{rng.randrange(400)}"
        key = (
            {"prefix": f"uploads/{rng.randrange(50)}/"} if rng.random() < 0.5 else {"exists": True}
        )
        pattern["detail"] = {"bucket": {"name": [bucket]}, "object": {"key": [key]}}
    elif source == "aws.cloudtrail":
        pattern["detail"] = {"eventName": rng.sample(API_CALLS, 2)}
    elif source == "aws.guardduty":
        pattern["detail"] = {"severity": [{"numeric": [">=", rng.choice([4, 7, 8.5])]}]}
    if rng.random() < 0.3:
        pattern["region"] = [rng.choice(REGIONS)]
    if rng.random() < 0.5:
        pattern["account"] = [rng.choice(ACCOUNTS)]
    return pattern


def custom_pattern(rng: random.Random) -> dict[str, Any]:
    pattern: dict[str, Any] = {"source": [custom_source(rng)]}
    if rng.random() < 0.8:
        pattern["detail-type"] = [custom_detail_type(rng)]
    detail: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.25:
        low = rng.randrange(0, 1000, 50)
        detail["amount"] = [{"numeric": [">=", low, "<", low + rng.choice([50, 100, 500])]}]
    elif roll < 0.45:
        detail["customer"] = {"tier": rng.sample(TIERS, rng.randint(1, 2))}
    elif roll < 0.55:
        detail["country"] = rng.sample(COUNTRIES, 3)
    elif roll < 0.62:
        detail["status"] = [{"anything-but": ["cancelled", "test"]}]
    elif roll < 0.67:
        detail["email"] = [{"suffix": rng.choice(["@example.com", "@acme.io"])}]
    elif roll < 0.71:
        detail["path"] = [{"wildcard": f"/api/v{rng.randint(1, 3)}/*/items/*"}]
    elif roll < 0.74:
        detail["client-ip"] = [{"cidr": f"10.{rng.randrange(256)}.0.0/16"}]
    elif roll < 0.77:
        detail["name"] = [{"equals-ignore-case": f"Item-{rng.randrange(100)}"}]
    elif roll < 0.80:
        detail["debug"] = [{"exists": False}]
    elif roll < 0.85:
        detail["$or"] = [
            {"priority": ["high"]},
            {"amount": [{"numeric": [">", rng.randrange(500, 5000)]}]},
        ]
    if detail:
        pattern["detail"] = detail
    return pattern


def patterns(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [aws_pattern(rng) if rng.random() < 0.4 else custom_pattern(rng) for _ in range(count)]


def event(rng: random.Random) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": "0",
        "id": f"{rng.getrandbits(128):032x}",
        "account": rng.choice(ACCOUNTS),
        "time": "2026-11-26T12:00:00Z",
        "region": rng.choice(REGIONS),
        "resources": [],
    }
    if rng.random() < 0.4:
        source = rng.choice(list(AWS_SOURCES))
        base["source"] = source
        base["detail-type"] = rng.choice(AWS_SOURCES[source])
        base["resources"] = [f"arn:aws:{source[4:]}:{base['region']}:123456789012:thing/x"]
        detail: dict[str, Any] = {
            "state": rng.choice(STATES),
            "instance-id": f"i-{rng.getrandbits(64):016x}",
            "bucket": {"name": f"bucket-{rng.randrange(400)}"},
            "object": {
                "key": f"uploads/{rng.randrange(50)}/file.bin",
                "size": rng.randrange(10**6),
            },
            "eventName": rng.choice(API_CALLS),
            "severity": rng.choice([2, 5, 7.5, 8.9]),
        }
    else:
        base["source"] = custom_source(rng)
        base["detail-type"] = custom_detail_type(rng)
        detail = {
            "amount": round(rng.uniform(0, 1200), 2),
            "customer": {"id": rng.randrange(10**6), "tier": rng.choice(TIERS)},
            "country": rng.choice(COUNTRIES),
            "status": rng.choice(["new", "paid", "cancelled", "test"]),
            "email": f"user{rng.randrange(1000)}@{rng.choice(['example.com', 'acme.io', 'x.org'])}",
            "path": f"/api/v{rng.randint(1, 3)}/shop/items/{rng.randrange(100)}",
            "client-ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "name": f"ITEM-{rng.randrange(100)}",
            "priority": rng.choice(["low", "high"]),
            "lines": [{"sku": f"SKU-{rng.randrange(500)}", "qty": rng.randint(1, 5)}],
        }
    base["detail"] = detail
    return base


def per_call(function: Callable[[], object], repeat: int) -> float:
    """Seconds per call of ``function``, the best of three batches of ``repeat`` calls."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        best = min(best, (time.perf_counter() - started) / repeat)
    return best


def run(count: int, events: int, seed: int) -> dict[str, Any]:
    raw = patterns(count, seed)
    rng = random.Random(seed + 1)
    sample = [event(rng) for _ in range(events)]

    started = time.perf_counter()
    compiled: list[CompiledPattern] = [compile_pattern(p, "eventbridge") for p in raw]
    compile_us = (time.perf_counter() - started) / count * 1e6

    index: PatternIndex[int] = PatternIndex("eventbridge")
    started = time.perf_counter()
    for i, pattern in enumerate(compiled):
        index.add(i, pattern)
    add_us = (time.perf_counter() - started) / count * 1e6
    index.matching_ids(sample[0])  # build the lazy structures before timing
    # A long-lived index belongs in the permanent generation, out of the collector's scans.
    gc.collect()
    gc.freeze()

    one = compiled[0]
    single_us = per_call(lambda: [one.matches(e) for e in sample[:100]], 20) / 100 * 1e6

    # Wall time, and the thread's CPU time: on a busy machine the tail of the first is the
    # scheduler's, not the index's.
    timings: list[float] = []
    cpu: list[float] = []
    matches = 0
    for document in sample:
        started, started_cpu = time.perf_counter(), time.thread_time()
        found = index.matching_ids(document)
        cpu.append(time.thread_time() - started_cpu)
        timings.append(time.perf_counter() - started)
        matches += len(found)
    timings.sort()
    cpu.sort()

    # The naive alternative, for scale: every pattern asked in turn.
    naive_ms = per_call(lambda: [p.matches(sample[0]) for p in compiled], 1) * 1e3
    expected = {i for i, p in enumerate(compiled) if p.matches(sample[0])}
    assert index.matching_ids(sample[0]) == expected, "index and matcher disagree"

    return {
        "bench": "matching",
        "patterns": count,
        "events": events,
        "compile_us_per_pattern": round(compile_us, 1),
        "index_add_us_per_pattern": round(add_us, 1),
        "single_match_us": round(single_us, 2),
        "matching_ids_us_mean": round(statistics.fmean(timings) * 1e6, 1),
        "matching_ids_us_p50": round(timings[len(timings) // 2] * 1e6, 1),
        "matching_ids_us_p99": round(timings[int(len(timings) * 0.99)] * 1e6, 1),
        "matching_ids_cpu_us_p50": round(cpu[len(cpu) // 2] * 1e6, 1),
        "matching_ids_cpu_us_p99": round(cpu[int(len(cpu) * 0.99)] * 1e6, 1),
        "matches_per_event": round(matches / events, 2),
        "naive_loop_ms": round(naive_ms, 2),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = run(args.patterns, args.events, args.seed)
    wall = result["matching_ids_us_p50"], result["matching_ids_us_p99"]
    cpu = result["matching_ids_cpu_us_p50"], result["matching_ids_cpu_us_p99"]
    rows = [
        ("compile, per pattern", f"{result['compile_us_per_pattern']} µs"),
        ("index add, per pattern", f"{result['index_add_us_per_pattern']} µs"),
        ("one pattern, one event", f"{result['single_match_us']} µs"),
        (f"matching_ids, {args.patterns} patterns, mean", f"{result['matching_ids_us_mean']} µs"),
        ("matching_ids p50 / p99", f"{wall[0]} / {wall[1]} µs"),
        ("matching_ids p50 / p99, thread CPU", f"{cpu[0]} / {cpu[1]} µs"),
        ("matches per event", str(result["matches_per_event"])),
        ("naive loop over every pattern", f"{result['naive_loop_ms']} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>16}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
