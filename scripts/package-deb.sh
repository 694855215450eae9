#!/usr/bin/env bash
# Builds the Debian package chatd_<version>_amd64.deb (Release, stripped) in
# build-deb/: the executables, /etc/chatd/chatd.toml (a conffile), the
# systemd unit chatd.service, and the Prometheus and Grafana files under
# /usr/share/chatd. Install it with `apt install ./build-deb/chatd_*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCHATD_BUILD_TESTS=OFF -DCHATD_BUILD_BENCH=OFF >/dev/null
cmake --build build-deb -j "$(nproc)"
(cd build-deb && cpack -G DEB)
