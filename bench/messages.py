#!/usr/bin/env python3
"""Messages: chatd against the floor server's in-memory relay, in one run.

chat-loadgen --mode message drives both with the same senders and receivers
(half the users send to the other half), on the same 2 cores as the server
(as a deployment with the load on the box would): acknowledged messages/s
when saturated, send-to-receive latency at a fixed rate, server and
loadgen CPU per message, and the exactly-once audit. chatd's messages are
durable (SQLite, synchronous=FULL, group commit) before the answer; the
floor's are in memory only, so the ratio is the price of durability,
actors and checks.
Writes bench/results/messages.json; bench/write_results.py renders it.
With CHATD_BASELINE_BIN (an older chatd), that binary is measured in the
same rounds too, and the ratios against it are reported ("before/after").
Usage: bench/messages.py BUILD_DIR [--quick] [--rounds N]
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import KEY, bench_args, chatd_config
from versus_floor import Server, cpu_seconds

SATURATING_RATE = 60000  # more than either server acknowledges
FIXED_RATE = 5000


def message_run(build, server, rate, seconds, users, prefix):
    pid = server.proc.pid
    cpu0 = cpu_seconds(pid)
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([f"{build}/tools/chat-loadgen", "--url", server.url, "--key", KEY,
                        "--json", report.name, "--mode", "message", "--users", str(users),
                        "--workers", "1", "--rate", f"{rate}/s", "--duration", f"{seconds}s",
                        "--max-in-flight", "4000", "--user-prefix", prefix],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(report.name) as f:
            rep = json.load(f)
    server_cpu = cpu_seconds(pid) - cpu0
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = rep["messages"]
    acked = max(m["acked"], 1)
    return {
        "acked": m["acked"],
        "acked_per_s": m["acked_per_s"],
        "received": m["received"],
        "latency_p50_ms": m["latency_ms"]["p50"],
        "latency_p99_ms": m["latency_ms"]["p99"],
        "answer_p50_ms": m["answer_ms"]["p50"],
        "answer_p99_ms": m["answer_ms"]["p99"],
        "server_cpu_us_per_message": 1e6 * server_cpu / acked,
        "loadgen_cpu_us_per_message": 1e6 * client_cpu / acked,
        "audit": m["audit"],
        "audit_clean": rep["audit"]["clean"],
    }


def clear_state(work):
    for name in ("messages", "messages-baseline"):
        shutil.rmtree(os.path.join(work, f"state-{name}"), ignore_errors=True)


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    build, quick, rounds, seconds = bench_args()
    users = 400
    work = tempfile.mkdtemp(prefix="chatd-bench-messages-")
    servers = {
        "chatd": [f"{build}/server/chatd", "--config", chatd_config(work, "messages")],
        "floor": [f"{build}/bench/floor_server"],
    }
    if os.environ.get("CHATD_BASELINE_BIN"):
        servers["chatd_baseline"] = [os.environ["CHATD_BASELINE_BIN"], "--config",
                                     chatd_config(work, "messages-baseline")]
    results = {name: {"saturated": [], "fixed": []} for name in servers}
    for r in range(rounds):
        for name, argv in servers.items():
            # A fresh server (and store) for each measurement: a fixed-rate
            # run right after a saturated one measures the checkpoints of
            # the saturated run's backlog (docs/DESIGN.md).
            clear_state(work)
            with Server(name, argv, core=None) as server:
                fixed = message_run(build, server, FIXED_RATE, seconds, users, f"fix{r}")
            clear_state(work)
            with Server(name, argv, core=None) as server:
                sat = message_run(build, server, SATURATING_RATE, seconds, users, f"sat{r}")
            results[name]["saturated"].append(sat)
            results[name]["fixed"].append(fixed)
            print(f"round {r} {name}: saturated {sat['acked_per_s']:.0f} msg/s "
                  f"(p99 {sat['latency_p99_ms']:.1f} ms), at {FIXED_RATE}/s p50 "
                  f"{fixed['latency_p50_ms']:.2f} p99 {fixed['latency_p99_ms']:.2f} ms, "
                  f"audit {'clean' if sat['audit_clean'] and fixed['audit_clean'] else 'VIOLATIONS'}",
                  flush=True)
    summary = {}
    for name in servers:
        sat, fixed = results[name]["saturated"], results[name]["fixed"]
        summary[name] = {
            "saturated_acked_per_s": median_of(sat, "acked_per_s"),
            "saturated_p99_ms": median_of(sat, "latency_p99_ms"),
            "saturated_server_cpu_us_per_message": median_of(sat, "server_cpu_us_per_message"),
            "saturated_loadgen_cpu_us_per_message": median_of(sat, "loadgen_cpu_us_per_message"),
            "fixed_p50_ms": median_of(fixed, "latency_p50_ms"),
            "fixed_p99_ms": median_of(fixed, "latency_p99_ms"),
            "fixed_answer_p99_ms": median_of(fixed, "answer_p99_ms"),
            "fixed_server_cpu_us_per_message": median_of(fixed, "server_cpu_us_per_message"),
            "audit_clean": all(x["audit_clean"] for x in sat + fixed),
        }
    c, f = summary["chatd"], summary["floor"]
    ratios = {
        "throughput_vs_floor": c["saturated_acked_per_s"] / f["saturated_acked_per_s"],
        "server_cpu_per_message_vs_floor": c["saturated_server_cpu_us_per_message"]
        / f["saturated_server_cpu_us_per_message"],
        "fixed_p99_vs_floor": c["fixed_p99_ms"] / max(f["fixed_p99_ms"], 1e-9),
    }
    if "chatd_baseline" in summary:
        b = summary["chatd_baseline"]
        ratios["throughput_vs_baseline"] = c["saturated_acked_per_s"] / b["saturated_acked_per_s"]
        ratios["fixed_p99_vs_baseline"] = c["fixed_p99_ms"] / max(b["fixed_p99_ms"], 1e-9)
        ratios["server_cpu_per_message_vs_baseline"] = (
            c["saturated_server_cpu_us_per_message"] / b["saturated_server_cpu_us_per_message"])
    targets = {
        "acked_durable_per_s >= 20000": c["saturated_acked_per_s"] >= 20000,
        f"p99 send-to-receive < 10 ms at {FIXED_RATE}/s": c["fixed_p99_ms"] < 10,
        "every acknowledged message received once, in order": c["audit_clean"],
    }
    out = {"when": time.strftime("%Y-%m-%d %H:%M"), "rounds": rounds, "seconds": seconds,
           "users": users, "fixed_rate": FIXED_RATE, "summary": summary, "ratios": ratios,
           "targets": targets, "runs": results}
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/messages.json", "w") as fh:
        json.dump(out, fh, indent=2)
    print(json.dumps({"summary": summary, "ratios": ratios, "targets": targets}, indent=2))


if __name__ == "__main__":
    main()
