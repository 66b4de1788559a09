#!/usr/bin/env bash
# Render the HTML report of the bundled example in headless Chromium with no network, check the
# DOM it built (matrix, findings, no secret), and keep a screenshot in target/ci/.
set -euo pipefail
bin=${1:-target/debug/portaudit}
out=target/ci
mkdir -p "$out"
if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "!! HTML report check SKIPPED: chromium is not available (apt-get install chromium)"
  exit 3
fi
set +e
"$bin" check fixtures/exports --format html --output "$out/report.html"
code=$?
set -e
[[ $code -eq 1 ]] || { echo "expected exit 1 from the example, got $code" >&2; exit 1; }
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --proxy-server=127.0.0.1:9
  --window-size=1200,2000)
chromium "${flags[@]}" --dump-dom "file://$PWD/$out/report.html" > "$out/report.dom.html" 2>/dev/null
chromium "${flags[@]}" --screenshot="$out/report.png" "file://$PWD/$out/report.html" >/dev/null 2>&1
python3 - "$out/report.dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
checks = {
    "compliance matrix rendered": dom.count('<tr>') > 10 and 'id="matrix"' in dom,
    "findings rendered": dom.count('class="finding"') >= 5,
    "severity chart rendered": '<svg' in dom and '<rect' in dom,
    "no external resource": not re.search(r'(src|href)="(https?:)?//', dom),
    "no secret (FortiGate admin hash)": 'SH2Q8dkzWc1vqZ3xR0pLlJ8wKx9Y0mZbVnT4gH2sE1aQ' not in dom,
    "no secret (SNMP community)": 'c0mmun1ty-RO' not in dom,
}
bad = [k for k, ok in checks.items() if not ok]
for k, ok in checks.items():
    print(f"  {'ok ' if ok else 'BAD'} {k}")
sys.exit(1 if bad else 0)
PY
[[ -s $out/report.png ]] && echo "  screenshot: $out/report.png"
