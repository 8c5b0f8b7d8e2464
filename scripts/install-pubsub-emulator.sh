#!/usr/bin/env bash
# Install Google's Pub/Sub emulator and a Java runtime for the integration tests.
# Idempotent: does nothing when the emulator's start script and java are present.
# The emulator is the Debian package google-cloud-cli-pubsub-emulator (it installs
# platform/pubsub-emulator under /usr/lib/google-cloud-sdk); Java comes from Debian
# (default-jre-headless).
set -euo pipefail

find_emulator() {
  local roots=("${CLOUDSDK_ROOT_DIR:-}" /usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk /opt/google-cloud-sdk)
  if command -v gcloud >/dev/null 2>&1; then
    roots+=("$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")")
  fi
  [ -n "${PUBSUB_EMULATOR_BIN:-}" ] && [ -x "$PUBSUB_EMULATOR_BIN" ] && { echo "$PUBSUB_EMULATOR_BIN"; return 0; }
  for r in "${roots[@]}"; do
    [ -n "$r" ] && [ -x "$r/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ] && { echo "$r/platform/pubsub-emulator/bin/cloud-pubsub-emulator"; return 0; }
  done
  return 1
}
have_java() { java -version >/dev/null 2>&1; }

if emulator="$(find_emulator)" && have_java; then
  echo "Pub/Sub emulator already installed: $emulator ($(java -version 2>&1 | head -n1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install the Pub/Sub emulator (gcloud components install pubsub-emulator) and Java 11+, or set PUBSUB_EMULATOR_BIN" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "not root and sudo is not available: run this script as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
packages=()
find_emulator >/dev/null || packages+=(google-cloud-cli-pubsub-emulator)
have_java || packages+=(default-jre-headless)
if ! $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"; then
  echo "could not install ${packages[*]} with apt-get." >&2
  echo "The Pub/Sub emulator comes from Google's Cloud SDK apt repository (package google-cloud-cli-pubsub-emulator);" >&2
  echo "no configured apt source offers it here. Install it (or 'gcloud components install pubsub-emulator')," >&2
  echo "or point PUBSUB_EMULATOR_BIN at platform/pubsub-emulator/bin/cloud-pubsub-emulator, then run the tests again." >&2
  exit 1
fi
emulator="$(find_emulator)" || { echo "installed, but the emulator's start script is still not found" >&2; exit 1; }
echo "installed: $emulator ($(java -version 2>&1 | head -n1))"
