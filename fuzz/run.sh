#!/usr/bin/env bash
# Run fuzz targets one after the other, one process each (no -jobs: with -jobs libFuzzer forks
# a child that logs to ./fuzz-N.log) with the settings recorded in docs/fuzzing.md.
# Usage: fuzz/run.sh SECONDS [target...]   (needs a prior `RUSTC_BOOTSTRAP=1 cargo fuzz build -s none`)
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:?seconds per target}
shift
bin=fuzz/target/x86_64-unknown-linux-gnu/release
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=($(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^portaudit[-_]fuzz$'))
fi
mkdir -p fuzz/artifacts fuzz/logs
for t in "${targets[@]}"; do
  fuzz/seed.sh "$t" >/dev/null
  mkdir -p "fuzz/artifacts/$t"
  "$bin/$t" "fuzz/corpus/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$secs" \
    -max_len=65536 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    >"fuzz/logs/$t.log" 2>&1
  echo "$t: exit $? $(grep -E '^#[0-9]+.*(DONE|pulse)' "fuzz/logs/$t.log" | tail -1) artifacts=$(ls "fuzz/artifacts/$t" | wc -l)"
done
