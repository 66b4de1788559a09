#!/usr/bin/env bash
# Whole-process benchmark of `portaudit check` against the line-scan limit (`wc -l`) and a peer
# (semgrep with text patterns, scripts/bench/semgrep.yml) on the same generated fleet.
#
#   scripts/bench.sh            600 devices, ~120 MB (the issue's target corpus)
#   scripts/bench.sh --quick    72 devices, ~12 MB (a minute or two)
#
# Environment: DEVICES, SIZE_MB (override the fleet), SINGLE_RULES (the one large configuration,
# checked with the default packs and with every pack; default 100000), RUNS (best of, default
# 3), SEMGREP_RUNS (default: RUNS), NO_SEMGREP=1 (skip the peer). Runs from a clean clone;
# writes target/bench/.
# Times are wall clock, best of RUNS (every run is listed after it); peak RSS is the maximum
# resident set (GNU time). The fleet is timed again right after semgrep, since a virtual
# machine's speed can drift during semgrep's minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

devices=${DEVICES:-600}
size=${SIZE_MB:-120}
if [[ ${1:-} == --quick ]]; then
  devices=${DEVICES:-72}
  size=${SIZE_MB:-12}
fi
runs=${RUNS:-3}
semgrep_runs=${SEMGREP_RUNS:-$runs}
out=target/bench
mkdir -p "$out"
out=$(cd "$out" && pwd)
fleet=$out/fleet
half=$out/fleet-half

echo "== machine"
echo "cores: $(nproc)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)  $(rustc --version)"

echo "== build (release)"
cargo build --release --bins --quiet
bin=target/release/portaudit
gen=target/release/genfleet

# GNU time for peak memory (the bash keyword `time` cannot report it).
gtime=/usr/bin/time
if ! "$gtime" -f %M true >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1 || true
  fi
fi
if ! "$gtime" -f %M true >/dev/null 2>&1; then
  gtime=""
  echo "!! GNU time missing: peak memory is not measured"
fi

echo "== fleet: $devices devices, ~$size MB"
rm -rf "$fleet" "$half"
line=$("$gen" --devices "$devices" --target-size "$size" --out "$fleet")
echo "$line"
rules=$(sed -E 's/.* ([0-9]+) rules each.*/\1/' <<<"$line")
"$gen" --devices $((devices / 2)) --rules "$rules" --out "$half" >/dev/null
bytes=$(cat "$fleet"/* | wc -c)

# measure NAME CMD...: best wall time of $runs runs (seconds, in $best) and the peak RSS of the
# largest run (KiB, in $rss). Exit codes are ignored (portaudit exits 1 when it finds something).
measure() {
  local name=$1 n=$2
  shift 2
  best="" rss=0
  local all=""
  for ((i = 0; i < n; i++)); do
    local t0 t1 m=0
    t0=$(date +%s%N)
    if [[ -n $gtime ]]; then
      "$gtime" -f %M -o "$out/rss.txt" "$@" >/dev/null 2>"$out/$name.stderr" || true
      m=$(tail -1 "$out/rss.txt")
    else
      "$@" >/dev/null 2>"$out/$name.stderr" || true
    fi
    t1=$(date +%s%N)
    local s
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}')
    all+=" $(awk -v x="$s" 'BEGIN {printf "%.3f", x}')"
    if [[ -z $best ]] || awk -v x="$s" -v y="$best" 'BEGIN {exit !(x < y)}'; then best=$s; fi
    ((m > rss)) && rss=$m
  done
  printf '   %-36s %9.3f s  %8.1f MB/s  peak RSS %7.1f MB%s\n' "$name" "$best" \
    "$(awk -v b="$bytes" -v s="$best" 'BEGIN {print b / 1e6 / s}')" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
    "$( ((n > 1)) && echo "   (runs:$all s)")"
}

if command -v hyperfine >/dev/null; then
  echo "   (hyperfine present; this script times with its own loop so that time and RSS come from the same runs)"
fi

echo "== timings (best of $runs)"
# Warm the page cache so every tool reads from memory.
cat "$fleet"/* >/dev/null
measure "wc -l" "$runs" bash -c "wc -l '$fleet'/* | tail -1"
wc_t=$best
wc_rss=$rss
measure "portaudit check (2 threads)" "$runs" "$bin" check "$fleet" --no-config --format json --output "$out/portaudit.json"
pa_t=$best
pa_rss=$rss
measure "portaudit check (1 thread)" "$runs" "$bin" check "$fleet" --no-config --threads 1 --format json --output "$out/portaudit-1.json"
pa1_t=$best
if cmp -s "$out/portaudit.json" "$out/portaudit-1.json"; then
  echo "   json output identical with 1 and 2 threads"
else
  echo "!! json output differs between 1 and 2 threads"
fi
# The default format: an auditor's `portaudit check ./exports` writes the text report, whose
# snippets cost more to render than the JSON (the workers render them, file by file).
measure "portaudit check (2 threads, text)" "$runs" "$bin" check "$fleet" --no-config --format text --output "$out/portaudit.txt"
text_t=$best
text_rss=$rss
full_bytes=$bytes
bytes=$(cat "$half"/* | wc -c) # the MB/s column of this line is over the half fleet
measure "portaudit check (half fleet)" "$runs" "$bin" check "$half" --no-config --format json --output "$out/portaudit-half.json"
bytes=$full_bytes
half_t=$best
half_rss=$rss

# One large configuration (FortiOS, the generator's first format) against every pack.
single_rules=${SINGLE_RULES:-100000}
big=$out/single
rm -rf "$big"
"$gen" --devices 1 --rules "$single_rules" --out "$big" >/dev/null
bytes=$(cat "$big"/* | wc -c) # the MB/s column of this line is over that one file
measure "portaudit ($single_rules rules, default)" "$runs" "$bin" check "$big" --no-config --format json --output "$out/portaudit-single.json"
single_default_t=$best
# The target is against every pack: every built-in one (the listing's unindented lines).
every_pack=()
for id in $("$bin" policies | awk '/^[a-z]/ {print $1}'); do every_pack+=(--pack "$id"); done
measure "portaudit ($single_rules rules, all packs)" "$runs" "$bin" check "$big" --no-config "${every_pack[@]}" --format json --output "$out/portaudit-single-all.json"
bytes=$full_bytes
single_t=$best
single_rss=$rss

# --version: many runs, the best (milliseconds).
ver_best=""
for ((i = 0; i < 20; i++)); do
  t0=$(date +%s%N)
  "$bin" --version >/dev/null
  t1=$(date +%s%N)
  v=$(((t1 - t0) / 1000))
  if [[ -z $ver_best ]] || ((v < ver_best)); then ver_best=$v; fi
done

sg_t=""
if [[ -z ${NO_SEMGREP:-} ]]; then
  venv=$out/venv
  if [[ ! -x $venv/bin/semgrep ]]; then
    echo "== installing semgrep into $venv"
    (python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check semgrep) \
      >"$out/pip.log" 2>&1 || true
  fi
  if [[ -x $venv/bin/semgrep ]]; then
    # semgrep --version may check for updates over the network: never wait on it for long.
    sg_version=$(SEMGREP_ENABLE_VERSION_CHECK=0 timeout 60 "$venv/bin/semgrep" --version </dev/null 2>/dev/null | tail -1) || true
    echo "   semgrep ${sg_version:-(version unknown)}, best of $semgrep_runs"
    measure "semgrep (generic patterns)" "$semgrep_runs" "$venv/bin/semgrep" scan --config scripts/bench/semgrep.yml \
      --metrics=off --disable-version-check --no-git-ignore --jobs "$(nproc)" --max-target-bytes 0 \
      --json --output "$out/semgrep.json" "$fleet"
    sg_t=$best
    sg_rss=$rss
    # The machine's speed may drift over semgrep's minutes: time the fleet again right after
    # it, so the ratio can also be read against the portaudit runs nearest to semgrep's.
    measure "portaudit check (2 threads), again" "$runs" "$bin" check "$fleet" --no-config --format json --output "$out/portaudit-again.json"
    pa_after_t=$best
    python3 - "$out/semgrep.json" <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
print(f"   semgrep scanned {len(d.get('paths', {}).get('scanned', []))} files, {len(d.get('results', []))} matches, {len(d.get('errors', []))} errors")
EOF
  else
    echo "!! SEMGREP COULD NOT BE INSTALLED (see $out/pip.log): the semgrep ratio is SKIPPED"
  fi
fi

python3 - "$out/portaudit.json" <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
files = d.get("files", [])
print(f"   portaudit: {len(files)} files, {len(d.get('findings', []))} findings")
EOF

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
echo "== results ($devices devices, $rules rules each, $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}') MB)"
echo "   portaudit / wc -l wall time:         $(ratio "$pa_t" "$wc_t")x   (target: at most 10x)"
if [[ -n $sg_t ]]; then
  echo "   portaudit / semgrep throughput:      $(ratio "$sg_t" "$pa_t")x   (target: at least 100x; $(ratio "$sg_t" "$pa_after_t")x against the runs right after semgrep)"
  echo "   semgrep peak RSS:                    $(awk -v k="$sg_rss" 'BEGIN {printf "%.1f", k / 1024}') MB"
else
  echo "   portaudit / semgrep throughput:      SKIPPED (no semgrep)"
fi
echo "   portaudit peak RSS:                  $(awk -v k="$pa_rss" 'BEGIN {printf "%.1f", k / 1024}') MB (half fleet: $(awk -v k="$half_rss" 'BEGIN {printf "%.1f", k / 1024}') MB; target: at most 300 MB, flat)"
echo "   wc -l peak RSS:                      $(awk -v k="$wc_rss" 'BEGIN {printf "%.1f", k / 1024}') MB"
echo "   1 thread / 2 threads:                $(ratio "$pa1_t" "$pa_t")x"
printf '   %-37s%.2f s, %.1fx the JSON run, %s MB of text, peak RSS %.1f MB\n' \
  "text report (the default format):" "$text_t" "$(ratio "$text_t" "$pa_t")" \
  "$(awk -v b="$(wc -c <"$out/portaudit.txt")" 'BEGIN {printf "%.0f", b / 1e6}')" \
  "$(awk -v k="$text_rss" 'BEGIN {print k / 1024}')"
printf '   %-37s%s\n' "linearity, N=$devices vs N/2:" "$(ratio "$pa_t" "$half_t")x time (linear: 2.0x)"
printf '   %-37s%.2f s against all %d packs, peak RSS %.1f MB (target: under 1 s); %.2f s against the default packs\n' \
  "one $single_rules-rule configuration:" "$single_t" $((${#every_pack[@]} / 2)) \
  "$(awk -v k="$single_rss" 'BEGIN {print k / 1024}')" "$single_default_t"
echo "   portaudit --version:                 $(awk -v u="$ver_best" 'BEGIN {printf "%.1f", u / 1000}') ms best of 20 (target: under 20 ms)"
