#!/usr/bin/env bash
# Installs every build and test dependency of chatd from Debian 12 packages.
# Idempotent: re-running it only re-checks. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential dpkg-dev cmake ninja-build pkg-config curl ca-certificates iproute2
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  prometheus-cpp-dev doctest-dev libssl-dev zlib1g-dev libcurl4-openssl-dev prometheus
  libtomlplusplus-dev libspdlog-dev libcli11-dev libsqlite3-dev
  libpq-dev libpqxx-dev postgresql-15
  clang-14 libclang-rt-14-dev
  nodejs npm
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node/npm may come from outside Debian (a preinstalled Node 20); accept that.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
