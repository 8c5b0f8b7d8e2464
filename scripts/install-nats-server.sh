#!/usr/bin/env bash
# Install nats-server (Debian/Ubuntu package) for the integration tests. Idempotent:
# does nothing when nats-server is already on PATH or in /usr/sbin.
set -euo pipefail

if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  bin="$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)"
  echo "nats-server already installed: $bin ($("$bin" --version 2>/dev/null || echo unknown version))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install nats-server 2.9+ from https://github.com/nats-io/nats-server/releases and put it on PATH" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "not root and sudo is not available: run this script as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends nats-server

bin="$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)"
echo "installed: $bin ($("$bin" --version))"
# The Debian package also installs a systemd service; the tests start their own servers.
