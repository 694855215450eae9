"""What the bench scripts share: the demo app's key and a chatd config."""
import os
import sys

KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"


def chatd_config(state_dir, name="chatd", extra=""):
    """Writes a chatd config on ephemeral loopback ports; returns its path.
    `extra` is more [server] lines (a variant's settings)."""
    path = os.path.join(state_dir, f"{name}.toml")
    with open(path, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
state_dir = "{state_dir}/state-{name}"
log_level = "warn"
idle_timeout_s = 600
max_connections_per_address = 1000000
max_logins_per_address_per_s = 1000000
{extra}

[[app]]
sdkappid = 1400000000
secret_key = "{KEY}"
max_web_instances = 1
max_devices_per_platform = 1
""")
    return path


def bench_args():
    """The arguments every message bench takes: BUILD_DIR [--quick] [--rounds N].
    Returns (build, quick, rounds, seconds): quick is 1 round of 3 s, else 3 of 10 s."""
    build = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "build-release"
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else (1 if quick else 3)
    return build, quick, rounds, 3 if quick else 10
