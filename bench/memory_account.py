#!/usr/bin/env python3
"""Where the bytes of an idle logged-in session go, by component.

Runs chatd under heaptrack twice, holding N/4 and then N logged-in sessions
with chat-loadgen, and splits the heap at its peak (the held state) by the
first component found in each allocation's stack; the difference between
the runs, divided by the difference in sessions, is the cost per session. Writes
bench/results/memory_account.json and bench/MEMORY.md (rendered into
RESULTS.md by write_results.py).
Usage: bench/memory_account.py BUILD_DIR [SESSIONS]
"""
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from benchlib import KEY, chatd_config

# First match wins, in this order; matched against the whole stack.
COMPONENTS = [
    ("session actor (CAF, one per instance)", r"spawn_session"),
    ("registry actor (CAF, one per user)", r"spawn_user_registry"),
    ("directory entry (user -> registry)", r"registry_for|directory_state"),
    ("registry state (instance table, session map)", r"user_registry|registry_state|admit\b"),
    ("expiry wheel entry", r"expiry_wheel"),
    ("instance sink and login state at the connection", r"begin_login|finish_login|admit_login"),
    ("connection object (chatd::connection, outbox, strand)", r"chatd::connection|upgrade"),
    ("socket and epoll registration (Asio reactor)",
     r"epoll_reactor|reactive_socket|socket_ops|basic_socket|async_accept|accept_loop"),
    ("connection set (drain and idle sweep)", r"connection_set"),
    ("metrics (prometheus-cpp)", r"prometheus"),
    ("store (SQLite, known accounts)", r"sqlite|state_store|note_account"),
    ("logging (spdlog)", r"spdlog"),
    ("actor state objects, built at the first message (lazy init)", r"stateful_actor<>::initialize"),
    ("monitors", r"monitor"),
    ("maps inside actors (directory, expiry wheel, registry)", r"_Hashtable|_Map_base|_Rb_tree"),
]


def heap_by_component(build, sessions):
    """The heap at chatd's peak while it holds `sessions`, by component."""
    work = tempfile.mkdtemp(prefix="chatd-memory.")
    config = chatd_config(work)
    chatd = subprocess.Popen(["heaptrack", "-o", f"{work}/heap", f"{build}/server/chatd",
                              "--config", config], cwd=work, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    url = None
    for line in chatd.stdout:
        m = re.search(r"gateway=(\S+)", line)
        if m:
            url = f"ws://{m.group(1)}/v1/ws"
            break
    if not url:
        raise RuntimeError("chatd did not start under heaptrack")
    time.sleep(1)
    subprocess.run([f"{build}/tools/chat-loadgen", "--url", url, "--key", KEY, "--users",
                    str(sessions), "--workers", "2", "--source-ips", "4", "--rate", "2000/s",
                    "--hold", "8s", "--user-prefix", "mem", "--audit-sample", "0"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    # heaptrack is a script that runs chatd and compresses its trace: stop
    # chatd itself and let the script finish writing.
    subprocess.run(["pkill", "-TERM", "-f", f"server/chatd --config {config}"], check=False)
    chatd.wait(timeout=300)
    data = sorted(glob.glob(f"{work}/heap*"))[-1]
    # The trace's compressor may still be flushing when the script returns.
    for _ in range(30):
        subprocess.run(["heaptrack_print", "-f", data, "--flamegraph-cost-type", "peak",
                        "--print-flamegraph", f"{work}/flame.txt"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.path.getsize(f"{work}/flame.txt") > 0:
            break
        time.sleep(1)
    else:
        raise RuntimeError(f"heaptrack wrote no usable trace in {work}")
    totals = collections.Counter()
    others = collections.Counter()
    with open(f"{work}/flame.txt") as f:
        for line in f:
            stack, _, cost = line.rstrip().rpartition(" ")
            if not cost.isdigit():
                continue
            name = next((n for n, p in COMPONENTS if re.search(p, stack)), "other")
            totals[name] += int(cost)
            if name == "other":
                others[";".join(stack.split(";")[-4:])] += int(cost)
    return totals, others


def main():
    build = os.path.abspath(sys.argv[1])
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    small = sessions // 4
    # Two sizes, so that fixed costs (log queue, thread stacks, tables sized
    # once) cancel out: per session = (big - small) / (N - N/4).
    base, _ = heap_by_component(build, small)
    totals, others = heap_by_component(build, sessions)
    span = sessions - small
    rows = [{"component": n, "bytes_per_session": (totals[n] - base.get(n, 0)) / span}
            for n, _ in totals.most_common()]
    rows.sort(key=lambda r: -r["bytes_per_session"])
    per_session = sum(r["bytes_per_session"] for r in rows)
    out = {"sessions": [small, sessions], "heap_per_session": per_session, "components": rows,
           "largest_other_stacks": others.most_common(8),
           "note": "heap only (heaptrack); RSS adds allocator slack"}
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/memory_account.json", "w") as fh:
        json.dump(out, fh, indent=1)
    lines = ["## Where an idle session's bytes go (heaptrack)", "",
             f"`bench/memory_account.py`: chatd under heaptrack holding {small:,} and then "
             f"{sessions:,} logged-in idle sessions; the heap at its peak (the held state), "
             "split by the first component in each allocation's stack, per session as the "
             "difference between the two runs (fixed costs cancel out). Heap only: RSS per "
             "session (above) also counts the allocator's slack.", "",
             "| component | bytes per session |", "|---|---|"]
    lines += [f"| {r['component']} | {r['bytes_per_session']:,.0f} |" for r in rows
              if abs(r["bytes_per_session"]) >= 1]
    lines += [f"| **heap per session** | **{per_session:,.0f}** |", ""]
    with open("bench/MEMORY.md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    for stack, cost in others.most_common(8):
        print(f"other: {cost / sessions:,.0f} B/session  {stack[-300:]}")


if __name__ == "__main__":
    main()
