#!/usr/bin/env python3
"""chatd against the floor server, in one run, with the same client.

Each server runs pinned to one core (taskset -c 1) and chat-loadgen to the
other (taskset -c 0), so that each CPU figure is the process's own. For each
server, in alternating rounds:
  - churn saturated and at a fixed rate: server and load-generator CPU time
    per full cycle (connect, upgrade, login, ready, logout, destroy, close);
  - idle: N logged-in sessions held, RSS per session, and the server's CPU
    while they sit idle.
Writes bench/results/versus_floor.json; bench/write_results.py renders it.
Usage: bench/versus_floor.py BUILD_DIR [--quick] [--rounds N] [--skip-idle]
                             [--variant NAME:key=value,key=value ...]
  A variant is chatd with other [server] settings, measured in the same run
  (how docs/DESIGN.md chose the scheduler and thread counts).
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import KEY, chatd_config
TICK = os.sysconf("SC_CLK_TCK")
SERVER_CORE, CLIENT_CORE = "1", "0"


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    """A server process on 127.0.0.1, pinned to `core` (None: not pinned)."""

    def __init__(self, name, argv, core=SERVER_CORE):
        self.name, self.argv, self.core = name, argv, core

    def __enter__(self):
        pin = ["taskset", "-c", self.core] if self.core else []
        self.proc = subprocess.Popen(pin + self.argv,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"gateway=(\S+)", line)
        if not m:
            raise RuntimeError(f"{self.name} did not start: {line!r}")
        self.url = f"ws://{m.group(1)}/v1/ws"
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def loadgen(build, url, args, on_line=None):
    """Runs chat-loadgen pinned to the client core; returns (report, cpu_s)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        argv = ["taskset", "-c", CLIENT_CORE, f"{build}/tools/chat-loadgen", "--url", url,
                "--key", KEY, "--json", report.name] + args
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if on_line:
                on_line(line)
        proc.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with open(report.name) as f:
            return json.load(f), cpu


def churn(build, server, rate, seconds, in_flight, prefix):
    pid = server.proc.pid
    cpu0 = cpu_seconds(pid)
    rep, client_cpu = loadgen(build, server.url, [
        "--mode", "churn", "--users", "5000", "--workers", "1", "--rate", f"{rate}/s",
        "--duration", f"{seconds}s", "--max-in-flight", str(in_flight), "--user-prefix", prefix])
    server_cpu = cpu_seconds(pid) - cpu0
    cycles = rep["logins_ok"]
    failures = sum(rep.get("failures_by_code", {}).values())
    return {
        "cycles": cycles,
        "cycles_per_s": cycles / seconds,
        "failures": failures,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_cycle": 1e6 * server_cpu / max(cycles, 1),
        "loadgen_cpu_s": client_cpu,
        "loadgen_cpu_us_per_cycle": 1e6 * client_cpu / max(cycles, 1),
        "login_p50_ms": rep.get("login_latency_ms", {}).get("p50"),
        "login_p99_ms": rep.get("login_latency_ms", {}).get("p99"),
    }


def idle(build, server, sessions, idle_window_s, prefix):
    """Holds `sessions` logged-in sessions; RSS per session and idle CPU."""
    pid = server.proc.pid
    base = rss_kib(pid)
    result = {}

    def on_line(line):
        m = re.search(r"\[hold\].*held (\d+)", line)
        if m and int(m.group(1)) >= sessions and "rss_held_kib" not in result:
            time.sleep(1.0)
            result["rss_held_kib"] = rss_kib(pid)
            cpu0 = cpu_seconds(pid)
            time.sleep(idle_window_s)
            result["idle_cpu_fraction_of_core"] = (cpu_seconds(pid) - cpu0) / idle_window_s

    hold = idle_window_s + 30
    rep, _ = loadgen(build, server.url, [
        "--users", str(sessions), "--workers", "2", "--source-ips", "8", "--rate", "4000/s",
        "--hold", f"{hold}s", "--user-prefix", prefix, "--audit-sample", "0"], on_line)
    held = result.get("rss_held_kib", 0)
    return {
        "sessions": sessions,
        "held_peak": rep.get("connections_held_peak"),
        "rss_baseline_kib": base,
        "rss_held_kib": held,
        "bytes_per_session": (held - base) * 1024 / sessions if held else None,
        "idle_cpu_fraction_of_core": result.get("idle_cpu_fraction_of_core"),
    }


def kick_latency(build, server, resident, prefix):
    """Kick-storm latency (newcomer's sdkStateReady to the old instance's
    kickedOut) while `resident` idle sessions are held; chatd only."""
    hold = subprocess.Popen(
        ["taskset", "-c", CLIENT_CORE, f"{build}/tools/chat-loadgen", "--url", server.url,
         "--key", KEY, "--users", str(resident), "--workers", "2", "--source-ips", "4",
         "--rate", "4000/s", "--hold", "8s", "--user-prefix", f"{prefix}-resident",
         "--audit-sample", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in hold.stderr:
        m = re.search(r"\[hold\].*held (\d+)", line)
        if m and int(m.group(1)) >= resident:
            break
    rep, _ = loadgen(build, server.url, [
        "--mode", "kick-storm", "--users", "400", "--instances-per-user", "2", "--rate",
        "200/s", "--hold", "1s", "--user-prefix", f"{prefix}-storm"])
    for _ in hold.stderr:  # the hold ends by itself
        pass
    hold.wait()
    k = rep.get("kick_latency_ms", {})
    return {"kicks": k.get("count"), "p50_ms": k.get("p50"), "p99_ms": k.get("p99"),
            "audit_violations": rep.get("audit", {}).get("violations")}


def median_of(rounds, key):
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def main():
    build = sys.argv[1]
    quick = "--quick" in sys.argv
    rounds = 1 if quick else 3
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    skip_idle = "--skip-idle" in sys.argv  # CPU only (a scheduler comparison)
    seconds = 5 if quick else 12
    sessions = 2000 if quick else 19000
    state = tempfile.mkdtemp(prefix="chatd-floor.")
    servers = {
        "floor": [f"{build}/bench/floor_server"],
        "chatd": [f"{build}/server/chatd", "--config", chatd_config(state)],
    }
    args = sys.argv[2:]
    for i, arg in enumerate(args):
        if arg == "--variant":
            name, _, settings = args[i + 1].partition(":")
            extra = "\n".join(
                f"{k} = {v if v.isdigit() else json.dumps(v)}"
                for k, v in (kv.split("=") for kv in settings.split(",") if kv))
            servers[name] = [f"{build}/server/chatd", "--config",
                             chatd_config(state, name, extra)]
    if os.environ.get("CHATD_BASELINE_BIN"):  # an older chatd binary, for before/after
        servers["chatd_baseline"] = [os.environ["CHATD_BASELINE_BIN"], "--config",
                                     chatd_config(state, "baseline")]
    results = {name: {"saturated": [], "rate_500": []} for name in servers}
    for r in range(rounds):
        for name, argv in servers.items():
            with Server(name, argv) as s:
                sat = churn(build, s, 40000, seconds, 200, f"sat{r}")
                slow = churn(build, s, 500, seconds, 200, f"slow{r}")
                if name != "floor":  # the floor has no kicks
                    results[name].setdefault("kicks", []).append(
                        kick_latency(build, s, 2000 if quick else 5000, f"kick{r}"))
            results[name]["saturated"].append(sat)
            results[name]["rate_500"].append(slow)
            print(f"round {r} {name}: saturated {sat['server_cpu_us_per_cycle']:.0f} us/cycle "
                  f"({sat['cycles_per_s']:.0f}/s, loadgen {sat['loadgen_cpu_us_per_cycle']:.0f}), "
                  f"500/s {slow['server_cpu_us_per_cycle']:.0f} us/cycle", flush=True)
    for name, argv in servers.items():
        if skip_idle:
            results[name]["idle"] = {"bytes_per_session": None, "idle_cpu_fraction_of_core": None}
            continue
        with Server(name, argv) as s:
            results[name]["idle"] = idle(build, s, sessions, 10, "idle")
        i = results[name]["idle"]
        print(f"{name}: {sessions} idle sessions, {i['bytes_per_session']} B/session, "
              f"idle CPU {i['idle_cpu_fraction_of_core']}", flush=True)

    summary = {}
    for name in servers:
        summary[name] = {
            "saturated_server_us_per_cycle": median_of(results[name]["saturated"],
                                                       "server_cpu_us_per_cycle"),
            "saturated_loadgen_us_per_cycle": median_of(results[name]["saturated"],
                                                        "loadgen_cpu_us_per_cycle"),
            "saturated_cycles_per_s": median_of(results[name]["saturated"], "cycles_per_s"),
            "rate_500_server_us_per_cycle": median_of(results[name]["rate_500"],
                                                      "server_cpu_us_per_cycle"),
            "bytes_per_idle_session": results[name]["idle"]["bytes_per_session"],
            "idle_cpu_fraction_of_core": results[name]["idle"]["idle_cpu_fraction_of_core"],
            "kick_p50_ms": median_of(results[name].get("kicks", []), "p50_ms"),
            "kick_p99_ms": median_of(results[name].get("kicks", []), "p99_ms"),
        }
    f, c = summary["floor"], summary["chatd"]
    ratios = {
        "chatd_over_floor_saturated": c["saturated_server_us_per_cycle"] /
                                      f["saturated_server_us_per_cycle"],
        "chatd_over_floor_rate_500": c["rate_500_server_us_per_cycle"] /
                                     f["rate_500_server_us_per_cycle"],
        "loadgen_over_floor_server": c["saturated_loadgen_us_per_cycle"] /
                                     f["saturated_server_us_per_cycle"],
    }
    out = {"rounds": rounds, "seconds_per_run": seconds, "idle_sessions": sessions,
           "pinning": {"server_core": SERVER_CORE, "loadgen_core": CLIENT_CORE},
           "summary": summary, "ratios": ratios, "runs": results,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/versus_floor.json", "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps({"summary": summary, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
