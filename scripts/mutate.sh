#!/usr/bin/env bash
# Mutation testing (StrykerJS) of the modules that carry guarantees, one module at a time
# (the machine has 2 cores): `npm run mutate` runs all of them, `npm run mutate -- adapter
# filters` the ones named. Prints each module's score; the JSON reports go to reports/mutation/.
# Not part of CI's default run (.ci/run never calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-nats-server.sh
all=$(node --input-type=module -e 'import("./test/mutation/modules.mjs").then((m) => console.log(Object.keys(m.modules).join(" ")))')
selected=("$@")
[ ${#selected[@]} -gt 0 ] || read -r -a selected <<<"$all"
status=0
for module in "${selected[@]}"; do
  echo "== mutation testing: $module"
  MUTATE_MODULE="$module" npx stryker run stryker.config.mjs || status=$?
done
node test/mutation/summary.mjs "${selected[@]}" || true
exit "$status"
