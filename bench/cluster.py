#!/usr/bin/env python3
"""A chatd cluster on this machine, against one chatd, in one run.

NODES chatd nodes (CAF's middleman, one PostgreSQL started by
tests/postgres/postgres.sh) hold SESSIONS idle logged-in sessions, one
chat-loadgen per node. Measured:
  - logins/s of the whole cluster while the sessions log in, and RSS per
    session per node; the baseline is one chatd (no cluster, the same
    PostgreSQL store) holding one node's share, measured in the same run;
  - kick latency (the newcomer's sdkStateReady to the old instance's
    kickedOut) with the sessions held: a kick storm on one node, whose users'
    registries are on the other nodes for (NODES-1)/NODES of them; the same
    storm on the single chatd is the baseline;
  - recovery after a kill -9 of one node: until every survivor sees it gone,
    and until the survivors serve every shard again (its leases expired and
    were taken, its live instances elsewhere claimed by the new owners).
Everything listens on 127.0.0.1, is bounded in time, and is stopped by PID.
Writes bench/results/cluster.json.
Usage: bench/cluster.py BUILD_DIR [--quick] [--nodes N] [--sessions N]
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from benchlib import KEY, chatd_config
from store_backends import POSTGRES, fresh_database
from versus_floor import rss_kib

HOLD_S = 90  # every loadgen holds this long at most, then ends by itself
SHARDS = 1024  # actors/shard_leases.hpp


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(address):
    """{name{labels}: value} of one node's /metrics."""
    out = {}
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
    return out


def metric_sum(values, name, **labels):
    total = 0.0
    for key, v in values.items():
        if key == name or key.startswith(name + "{"):
            if all(f'{k}="{val}"' in key for k, val in labels.items()):
                total += v
    return total


class Node:
    def __init__(self, build, state, name, extra):
        self.name = name
        config = chatd_config(state, name, extra)
        self.proc = subprocess.Popen([f"{build}/server/chatd", "--config", config],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"gateway=(\S+) metrics=(\S+)", line)
        if not m:
            raise RuntimeError(f"{name} did not start: {line!r}")
        self.url, self.metrics = f"ws://{m.group(1)}/v1/ws", m.group(2)

    def stop(self, kill=False):
        if self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Hold:
    """chat-loadgen holding `users` sessions on one node; follows its progress.
    32 source addresses: every loadgen binds its sockets' source address, and
    the kernel's search for a free port slows to a crawl as one address's
    ports fill up (perf: inet_bind2_bucket_find), which first made the
    cluster look slow."""

    def __init__(self, build, url, users, prefix):
        self.held = 0
        self.proc = subprocess.Popen(
            [f"{build}/tools/chat-loadgen", "--url", url, "--key", KEY, "--users", str(users),
             "--workers", "1", "--source-ips", "32", "--rate", "4000/s", "--hold", f"{HOLD_S}s",
             "--user-prefix", prefix, "--audit-sample", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self):
        for line in self.proc.stderr:
            m = re.search(r"held (\d+)", line)
            if m:
                self.held = int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


def hold_all(build, nodes, per_node, prefix, timeout_s=120):
    """Logs per_node sessions into every node at once; returns (holds, logins/s)."""
    t0 = time.monotonic()
    holds = [Hold(build, n.url, per_node, f"{prefix}{i}") for i, n in enumerate(nodes)]
    while sum(h.held for h in holds) < per_node * len(nodes):
        if time.monotonic() - t0 > timeout_s:
            raise RuntimeError(f"held only {[h.held for h in holds]}")
        time.sleep(0.05)
    return holds, per_node * len(nodes) / (time.monotonic() - t0)


def kick_storm(build, url, prefix):
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run(
            [f"{build}/tools/chat-loadgen", "--url", url, "--key", KEY, "--mode", "kick-storm",
             "--users", "400", "--instances-per-user", "2", "--rate", "200/s", "--hold", "1s",
             "--user-prefix", prefix, "--json", report.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120)
        with open(report.name) as f:
            rep = json.load(f)
    k = rep.get("kick_latency_ms", {})
    login = rep.get("login_latency_ms", {})
    # chat-loadgen times a kick from the newcomer's sdkStateReady (negative:
    # the kick came first). From the newcomer's login request it is at most
    # the login's latency plus that offset.
    bound = (login.get("p99") or 0) + max(k.get("p99") or 0, 0)
    return {"kicks": k.get("count"), "p50_ms": k.get("p50"), "p99_ms": k.get("p99"),
            "login_p50_ms": login.get("p50"), "login_p99_ms": login.get("p99"),
            "request_to_kick_p99_bound_ms": bound,
            "audit_violations": rep.get("audit", {}).get("violations")}


def session_rss(node, baseline_kib, sessions):
    return (rss_kib(node.proc.pid) - baseline_kib) * 1024 / sessions


def recovery_after_kill(victim, survivors):
    """kill -9 of `victim`; seconds until the survivors see it gone, and
    until they serve every shard again (chatd_cluster_shards_open over the
    survivors = 1,024: the victim's leases expired, the survivors took them
    and claimed their live instances, which are registered with them)."""
    pool = ThreadPoolExecutor(len(survivors))
    before = sum(metric_sum(metrics(n.metrics), "chatd_cluster_reowned_instances_total")
                 for n in survivors)
    t0 = time.monotonic()
    victim.stop(kill=True)
    seen = None
    while time.monotonic() - t0 < 30:
        polled = time.monotonic()
        values = list(pool.map(lambda n: metrics(n.metrics), survivors))
        resolution = time.monotonic() - polled  # how long one look at the survivors takes
        if seen is None and all(metric_sum(v, "chatd_cluster_members") == len(survivors)
                                for v in values):
            seen = time.monotonic() - t0
        open_shards = sum(metric_sum(v, "chatd_cluster_shards_open") for v in values)
        if seen is not None and open_shards == SHARDS:
            moved = sum(metric_sum(v, "chatd_cluster_reowned_instances_total") for v in values)
            return {"seen_s": seen, "recovered_s": time.monotonic() - t0,
                    "instances_moved": moved - before, "resolution_s": resolution}
        time.sleep(0.005)
    return {"seen_s": seen, "recovered_s": None}


def all_shards_open(nodes):
    return sum(metric_sum(metrics(n.metrics), "chatd_cluster_shards_open") for n in nodes) == SHARDS


def main():
    build = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "build-release"
    quick = "--quick" in sys.argv
    node_count = option("--nodes", 3 if quick else 6)
    sessions = option("--sessions", 6000 if quick else 100000)
    per_node = sessions // node_count
    state = tempfile.mkdtemp(prefix="chatd-cluster-bench.")
    pg_state = os.path.join(state, "postgres.state")
    subprocess.run([POSTGRES, "start", pg_state], check=True)
    started = []
    holds = []
    try:
        admin_url = open(pg_state).read().split()[0]
        store = '\n[store]\nbackend = "postgres"\npostgres_url = "{}"\n'

        # The baseline: one chatd, no cluster, one node's share of sessions.
        single = Node(build, state, "single", store.format(fresh_database(admin_url, "single")))
        started.append(single)
        time.sleep(1)
        base_kib = rss_kib(single.proc.pid)
        holds, single_rate = hold_all(build, [single], per_node, "s")
        time.sleep(1)
        single_rss = session_rss(single, base_kib, per_node)
        single_kick = kick_storm(build, single.url, "sk")
        for h in holds:
            h.stop()
        single.stop()
        print(f"single: {single_rate:.0f} logins/s, {single_rss:.0f} B/session, "
              f"kick {single_kick}", flush=True)

        # The cluster.
        url = fresh_database(admin_url, "cluster")
        ports = [free_port() for _ in range(node_count)]
        nodes = []
        for i, port in enumerate(ports):
            peers = ", ".join(f'"127.0.0.1:{p}"' for p in ports if p != port)
            extra = (store.format(url) + f'\n[cluster]\nnode = "n{i + 1}"\n'
                     f'listen = "127.0.0.1:{port}"\npeers = [{peers}]\n')
            nodes.append(Node(build, state, f"n{i + 1}", extra))
            started.append(nodes[-1])
        t0 = time.monotonic()
        while not (all(metric_sum(metrics(n.metrics), "chatd_cluster_members") == node_count
                       for n in nodes) and all_shards_open(nodes)):
            if time.monotonic() - t0 > 30:
                raise RuntimeError("the nodes did not all meet")
            time.sleep(0.1)
        time.sleep(1)
        base = {n.name: rss_kib(n.proc.pid) for n in nodes}
        holds, cluster_rate = hold_all(build, nodes, per_node, "c")
        time.sleep(1)
        rss = {n.name: session_rss(n, base[n.name], per_node) for n in nodes}
        owned = {n.name: metric_sum(metrics(n.metrics), "chatd_online_instances") for n in nodes}
        cluster_kick = kick_storm(build, nodes[0].url, "ck")
        recovery = recovery_after_kill(nodes[-1], nodes[:-1])
        for h in holds:
            h.stop()
        print(f"cluster: {cluster_rate:.0f} logins/s, B/session {rss}, kick {cluster_kick}, "
              f"recovery {recovery}", flush=True)
    finally:
        for h in holds:
            h.stop()
        for n in started:
            n.stop()
        subprocess.run([POSTGRES, "stop", pg_state], check=False)

    mean_rss = sum(rss.values()) / len(rss)
    out = {
        "nodes": node_count, "sessions": sessions, "sessions_per_node": per_node,
        "single": {"logins_per_s": single_rate, "bytes_per_session": single_rss,
                   "kick": single_kick},
        "cluster": {"logins_per_s": cluster_rate, "bytes_per_session_by_node": rss,
                    "registry_instances_by_node": owned, "kick": cluster_kick,
                    "recovery_after_kill": recovery},
        "ratios": {
            "cluster_over_single_logins_per_s": cluster_rate / single_rate,
            "cluster_over_single_bytes_per_session": mean_rss / single_rss,
            "cluster_over_single_request_to_kick_p99": cluster_kick["request_to_kick_p99_bound_ms"] /
                                                       single_kick["request_to_kick_p99_bound_ms"],
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/cluster.json", "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps(out["ratios"], indent=1))


if __name__ == "__main__":
    main()
