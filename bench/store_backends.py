#!/usr/bin/env python3
"""Store backends: chatd on SQLite against chatd on PostgreSQL, in one run.

The same message load as bench/messages.py (chat-loadgen --mode message,
half the users sending to the other half, on the same 2 cores): acknowledged
durable messages/s when saturated, send-to-receive latency at a fixed rate,
CPU per message of chatd and of the database's own processes (PostgreSQL
runs beside chatd on the same cores; SQLite runs inside chatd). PostgreSQL is
a real server started by tests/postgres/postgres.sh (fsync and
synchronous_commit on, as by default), one fresh database per measurement.
Writes bench/results/store_backends.json.
Usage: bench/store_backends.py BUILD_DIR [--quick] [--rounds N]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import bench_args, chatd_config
from messages import message_run, clear_state
from versus_floor import Server

SATURATING_RATE = 60000
FIXED_RATE = 2000
POSTGRES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "postgres", "postgres.sh")


def postgres_cpu_seconds(data_dir):
    """CPU seconds of every process of the PostgreSQL server in data_dir."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"postgres" in cmdline and (data_dir.encode() in cmdline or is_child_of_postmaster(pid, data_dir)):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def is_child_of_postmaster(pid, data_dir):
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        postmaster = f.readline().strip()
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[1] == postmaster


def fresh_database(admin_url, name):
    subprocess.run(["psql", admin_url, "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    subprocess.run(["psql", admin_url, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return admin_url.rsplit("/", 1)[0] + "/" + name


def measure(build, argv, rate, seconds, users, prefix, data_dir):
    with Server("chatd", argv, core=None) as server:
        # Read while chatd runs: its connections' backends end with it (and
        # their CPU time with them).
        pg0 = postgres_cpu_seconds(data_dir)
        run = message_run(build, server, rate, seconds, users, prefix)
        pg1 = postgres_cpu_seconds(data_dir)
    run["database_cpu_us_per_message"] = 1e6 * (pg1 - pg0) / max(run["acked"], 1)
    return run


def main():
    build, quick, rounds, seconds = bench_args()
    users = 400
    work = tempfile.mkdtemp(prefix="chatd-bench-stores-")
    state = os.path.join(work, "postgres.state")
    subprocess.run([POSTGRES, "start", state], check=True)
    try:
        with open(state) as f:
            admin_url, pg_dir = f.read().split()
        data_dir = os.path.join(pg_dir, "data")
        results = {"sqlite": {"saturated": [], "fixed": []}, "postgres": {"saturated": [], "fixed": []}}
        for r in range(rounds):
            for backend in results:
                for kind, rate in (("fixed", FIXED_RATE), ("saturated", SATURATING_RATE)):
                    clear_state(work)
                    extra = ""
                    if backend == "postgres":
                        url = fresh_database(admin_url, f"bench_{kind}_{r}")
                        extra = f'\n[store]\nbackend = "postgres"\npostgres_url = "{url}"'
                    argv = [f"{build}/server/chatd", "--config", chatd_config(work, "messages", extra)]
                    run = measure(build, argv, rate, seconds, users, f"{kind[:3]}{r}", data_dir)
                    results[backend][kind].append(run)
                    print(f"round {r} {backend} {kind}: {run['acked_per_s']:.0f} msg/s, p50 "
                          f"{run['latency_p50_ms']:.2f} p99 {run['latency_p99_ms']:.2f} ms, chatd "
                          f"{run['server_cpu_us_per_message']:.0f} us/msg, database "
                          f"{run['database_cpu_us_per_message']:.0f} us/msg, audit "
                          f"{'clean' if run['audit_clean'] else 'VIOLATIONS'}", flush=True)
    finally:
        subprocess.run([POSTGRES, "stop", state])

    def med(backend, kind, key):
        return statistics.median(x[key] for x in results[backend][kind])

    summary = {b: {
        "saturated_acked_per_s": med(b, "saturated", "acked_per_s"),
        "saturated_p99_ms": med(b, "saturated", "latency_p99_ms"),
        "saturated_chatd_cpu_us_per_message": med(b, "saturated", "server_cpu_us_per_message"),
        "saturated_database_cpu_us_per_message": med(b, "saturated", "database_cpu_us_per_message"),
        "fixed_p50_ms": med(b, "fixed", "latency_p50_ms"),
        "fixed_p99_ms": med(b, "fixed", "latency_p99_ms"),
        "audit_clean": all(x["audit_clean"] for k in ("saturated", "fixed") for x in results[b][k]),
    } for b in results}
    s, p = summary["sqlite"], summary["postgres"]
    ratios = {
        "postgres_throughput_vs_sqlite": p["saturated_acked_per_s"] / s["saturated_acked_per_s"],
        "postgres_fixed_p99_vs_sqlite": p["fixed_p99_ms"] / max(s["fixed_p99_ms"], 1e-9),
        "postgres_total_cpu_per_message_vs_sqlite":
            (p["saturated_chatd_cpu_us_per_message"] + p["saturated_database_cpu_us_per_message"])
            / s["saturated_chatd_cpu_us_per_message"],
    }
    out = {"when": time.strftime("%Y-%m-%d %H:%M"), "rounds": rounds, "seconds": seconds, "users": users,
           "fixed_rate": FIXED_RATE, "summary": summary, "ratios": ratios, "runs": results}
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/store_backends.json", "w") as fh:
        json.dump(out, fh, indent=2)
    print(json.dumps({"summary": summary, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
