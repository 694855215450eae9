#!/usr/bin/env python3
"""The soak: chatd under steady churn with resident sessions and a kick
storm every minute, watched for growth.

  bench/soak.py BUILD_DIR [--minutes N] [--resident N] [--churn-rate N]

For N minutes (default 10): `--resident` sessions (15,000) held throughout,
churn at `--churn-rate` cycles/s (1,000: login, ready, logout, close), and
each minute a kick storm (1,000 users logging in twice with a limit of 1).
chatd's RSS, open descriptors, live actors and online instances are sampled
every 5 s. Verdicts: RSS within 5% over the last N-2 minutes, descriptors
flat, live actors back to the count before any load once the load has
gone, and no invariant violation in any chat-loadgen audit. Writes
bench/results/soak.json. Everything runs on 127.0.0.1 and stops by itself.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import KEY, chatd_config  # noqa: E402

SAMPLE_S = 5


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def scrape(metrics):
    text = urllib.request.urlopen(f"http://{metrics}/metrics", timeout=5).read().decode()
    total = lambda name: sum(float(l.split()[-1]) for l in text.splitlines()
                             if l.startswith(name) and not l.startswith("#"))
    return {"actors": total("chatd_actors_running"), "online": total("chatd_online_instances")}


class Loadgen:
    """One chat-loadgen run in the background; its JSON report at the end."""

    def __init__(self, build, url, name, args, state):
        self.report_file = os.path.join(state, f"{name}.json")
        self.proc = subprocess.Popen([f"{build}/tools/chat-loadgen", "--url", url, "--key", KEY,
                                      "--json", self.report_file] + args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, timeout):
        self.proc.wait(timeout=timeout)
        with open(self.report_file) as f:
            return json.load(f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--minutes", type=int, default=10)
    p.add_argument("--resident", type=int, default=15000)
    p.add_argument("--churn-rate", type=int, default=1000)
    p.add_argument("--storm-users", type=int, default=1000)
    a = p.parse_args()
    seconds = a.minutes * 60
    with tempfile.TemporaryDirectory(prefix="chatd-soak-") as state:
        config = chatd_config(state, "soak")
        chatd = subprocess.Popen([f"{a.build}/server/chatd", "--config", config],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            result = soak(a, chatd, state, seconds)
        finally:
            chatd.terminate()
            chatd.wait(timeout=30)
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/soak.json", "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result["verdicts"], indent=1))
    return 0 if all(result["verdicts"].values()) else 1


def soak(a, chatd, state, seconds):
    line = chatd.stdout.readline()
    m = re.search(r"gateway=(\S+) metrics=(\S+)", line)
    if not m:
        raise RuntimeError(f"chatd did not start: {line!r}")
    url, metrics = f"ws://{m.group(1)}/v1/ws", m.group(2)
    time.sleep(1)
    before = scrape(metrics) | {"rss_kib": rss_kib(chatd.pid), "fds": open_fds(chatd.pid)}

    resident = Loadgen(a.build, url, "resident",
                       ["--users", str(a.resident), "--workers", "2", "--source-ips", "8",
                        "--rate", "3000/s", "--hold", f"{seconds + 20}s", "--user-prefix", "resident"],
                       state)
    deadline = time.time() + 60
    while scrape(metrics)["online"] < a.resident:
        if time.time() > deadline:
            raise RuntimeError("the resident sessions did not all log in within 60 s")
        time.sleep(0.5)

    samples, storms, stop = [], [], threading.Event()
    start = time.time()

    def sample():
        while not stop.is_set():
            s = scrape(metrics)
            samples.append({"t": round(time.time() - start, 1), "rss_kib": rss_kib(chatd.pid),
                            "fds": open_fds(chatd.pid), **s})
            stop.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample)
    sampler.start()
    churn = Loadgen(a.build, url, "churn",
                    ["--mode", "churn", "--users", "5000", "--workers", "1", "--source-ips", "4",
                     "--rate", f"{a.churn_rate}/s", "--duration", f"{seconds}s",
                     "--max-in-flight", "200", "--user-prefix", "churn"], state)
    for minute in range(a.minutes):
        storm = Loadgen(a.build, url, f"storm-{minute}",
                        ["--mode", "kick-storm", "--users", str(a.storm_users),
                         "--instances-per-user", "2", "--rate", "2000/s", "--hold", "3s",
                         "--user-prefix", f"storm{minute}"], state)
        storms.append(storm.wait(timeout=120))
        time.sleep(max(0.0, start + 60 * (minute + 1) - time.time()))
    churn_report = churn.wait(timeout=120)
    stop.set()
    sampler.join()
    resident_report = resident.wait(timeout=240)  # its hold ends just after the soak

    # Once the load has gone, live actors return to the count before it.
    deadline = time.time() + 30
    after = scrape(metrics)
    while after["actors"] > before["actors"] and time.time() < deadline:
        time.sleep(1)
        after = scrape(metrics)
    after |= {"rss_kib": rss_kib(chatd.pid), "fds": open_fds(chatd.pid)}

    reports = [churn_report, resident_report] + storms
    violations = sum(r["audit"]["violations"] for r in reports)
    return {
        "minutes": a.minutes, "resident": a.resident, "churn_rate_target": a.churn_rate,
        "churn_cycles": churn_report["logins_ok"],
        "churn_cycles_per_s": churn_report["logins_ok"] / seconds,
        "churn": churn_report, "resident_report": resident_report,
        "storm_kicks": sum(sum(r.get("kicks_by_type", {}).values()) for r in storms),
        "before": before, "after": after, "samples": samples,
        "audit_violations": violations,
    } | judge(samples, before, after, violations)


def judge(samples, before, after, violations):
    """The verdicts, over the samples from minute 2 on. Descriptors are
    judged between storms (each minute's lowest count): a storm holds its
    2,000 connections for a few seconds, by design."""
    window = [s for s in samples if s["t"] >= 120]
    rss = [s["rss_kib"] for s in window]
    floors = {}
    for s in window:
        minute = int(s["t"] // 60)
        floors[minute] = min(floors.get(minute, s["fds"]), s["fds"])
    fd_floors = list(floors.values())
    rss_spread = (max(rss) - min(rss)) / min(rss)
    return {
        "rss_window_kib": [min(rss), max(rss)], "rss_spread": rss_spread,
        "fds_window": [min(s["fds"] for s in window), max(s["fds"] for s in window)],
        "fds_floor_per_minute": [min(fd_floors), max(fd_floors)],
        "verdicts": {
            "rss_flat_within_5pct": rss_spread <= 0.05,
            "fds_flat": max(fd_floors) - min(fd_floors) <= 0.01 * min(fd_floors),
            "actors_back_to_baseline": after["actors"] <= before["actors"],
            "audit_clean": violations == 0,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
