#!/usr/bin/env python3
"""What TLS costs chatd per login, handshake included, as a ratio to plain.

One chatd (pinned to core 1) serves a TLS listener and a plain one
(plain_listen) from the same process; an asyncio client (pinned to core 0)
runs the same cycles on each: TCP connect, a full TLS handshake (no session
resumption) on the TLS side, the WebSocket upgrade, a native login to
sdkStateReady, close. chatd's CPU time per cycle is the cost; rounds
alternate plain and TLS so that the machine's drift hits both alike.
Writes bench/results/tls_cost.json.
  bench/tls_cost.py BUILD_DIR [--quick]
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import KEY, chatd_config  # noqa: E402

APP = 1400000000
SERVER_CORE, CLIENT_CORE = "1", "0"


def user_sig(user, now):
    """A TLS-Sig API v2 UserSig (CONTRACT §1), as Tencent's generators make it."""
    expire = 86400
    content = f"TLS.identifier:{user}\nTLS.sdkappid:{APP}\nTLS.time:{now}\nTLS.expire:{expire}\n"
    sig = base64.b64encode(hmac.new(KEY.encode(), content.encode(), hashlib.sha256).digest()).decode()
    doc = json.dumps({"TLS.ver": "2.0", "TLS.identifier": user, "TLS.sdkappid": APP,
                      "TLS.expire": expire, "TLS.time": now, "TLS.sig": sig}, separators=(",", ":"))
    packed = base64.b64encode(zlib.compress(doc.encode())).decode()
    return packed.replace("+", "*").replace("/", "-").replace("=", "_")


def ws_frame(text):
    """A masked client text frame (RFC 6455)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + n.to_bytes(2, "big"))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    return b0 & 0x0F, await reader.readexactly(n)


async def cycle(host, port, context, user, sig):
    reader, writer = await asyncio.open_connection(host, port, ssl=context,
                                                   server_hostname="localhost" if context else None)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /v1/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    status = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in status.split(b"\r\n")[0]:
        raise RuntimeError(f"upgrade refused: {status[:60]!r}")
    writer.write(ws_frame(json.dumps({"seq": 1, "op": "login", "data": {
        "SDKAppID": APP, "userID": user, "userSig": sig, "platform": "Web"}})))
    ready = False
    while not ready:
        _, payload = await read_frame(reader)
        frame = json.loads(payload)
        if frame.get("seq") == 1 and frame.get("code") != 0:
            raise RuntimeError(f"login failed: {frame}")
        ready = frame.get("event") == "sdkStateReady"
    writer.close()


async def run_cycles(host, port, context, prefix, count, concurrency):
    now = int(time.time())
    users = [(f"{prefix}-{i}", user_sig(f"{prefix}-{i}", now)) for i in range(count)]
    queue = iter(users)

    async def worker():
        for user, sig in queue:
            await cycle(host, port, context, user, sig)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().split(") ")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    build = sys.argv[1]
    quick = "--quick" in sys.argv
    cycles, rounds = (1000, 2) if quick else (4000, 3)
    os.sched_setaffinity(0, {int(CLIENT_CORE)})
    with tempfile.TemporaryDirectory() as state:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{state}/key.pem",
                        "-out", f"{state}/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        config = chatd_config(state, "tls", extra=(
            f'tls_cert_file = "{state}/cert.pem"\ntls_key_file = "{state}/key.pem"\n'
            'plain_listen = "127.0.0.1:0"'))
        proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, f"{build}/server/chatd", "--config", config],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            m = re.search(r"gateway=(\S+):(\d+) .* plain=(\S+):(\d+)", line)
            if not m:
                raise RuntimeError(f"chatd did not start: {line!r}")
            tls_port, plain_port = int(m.group(2)), int(m.group(4))
            # Python's client resumes no session unless told to: every
            # connection is a full handshake.
            context = ssl.create_default_context(cafile=f"{state}/cert.pem")
            results = {"plain": [], "tls": []}
            for r in range(rounds):
                for kind, port, ctx in (("plain", plain_port, None), ("tls", tls_port, context)):
                    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
                    asyncio.run(run_cycles("127.0.0.1", port, ctx, f"{kind}{r}", cycles, 32))
                    wall = time.monotonic() - t0
                    time.sleep(0.5)  # let the disconnects' logouts finish on chatd
                    cpu = cpu_seconds(proc.pid) - cpu0
                    results[kind].append({"cycles": cycles, "chatd_cpu_us_per_login": cpu / cycles * 1e6,
                                          "logins_per_s": cycles / wall})
                    print(f"round {r} {kind}: chatd {cpu / cycles * 1e6:.0f} us CPU per login, "
                          f"{cycles / wall:.0f} logins/s (client-bound)", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    plain = statistics.median(x["chatd_cpu_us_per_login"] for x in results["plain"])
    tls = statistics.median(x["chatd_cpu_us_per_login"] for x in results["tls"])
    out = {"rounds": results, "plain_us_per_login": plain, "tls_us_per_login": tls,
           "tls_to_plain": tls / plain,
           "certificate": "ECDSA P-256, self-signed", "resumption": "a full TLS handshake (no session resumption)"}
    print(f"TLS costs chatd {tls:.0f} us per login against {plain:.0f} us plain: {tls / plain:.2f}x")
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/tls_cost.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
