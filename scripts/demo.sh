#!/usr/bin/env bash
# The demonstration: builds a benign sample seizure (public photos, edits, archives, bad files),
# imports hash sets, runs the one-shot triage on the embedded SQLite store and says where to look.
# `make demo` runs it with .venv/bin on PATH. Everything it writes stays under demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."

out="$PWD/demo-out"
photos="${HAVEN_DEMO_PHOTOS:-$PWD/../shared/data/photos/imagenet_sample}"
if [ ! -d "$photos" ]; then
    echo "demo: the benign photo corpus was not found at $photos (set HAVEN_DEMO_PHOTOS)" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$out"
export HAVEN_HOME="$out/haven-data"
unset HAVEN_DATABASE_URL  # the demo always uses the embedded default store

echo "== Building a benign sample evidence set"
python -m haven.demo "$out/evidence" "$out/hashsets" --photos "$photos"

echo "== Importing a known-good (system files) list"
haven hashset import "$out/hashsets/known-good-sha1.txt" --kind known-good --name demo-known-good

echo "== Triage: case DEMO-001"
haven triage "$out/evidence" --case DEMO-001 --label EXHIBIT-1 \
    --hashset "$out/hashsets/known-md5.txt" --hashset "$out/hashsets/known-pdq.txt" \
    --out "$out/report"

echo "== Victim identification: faces, text and same-scene features (re-runnable stages)"
haven analyze DEMO-001 --faces --ocr --scenes
haven faces DEMO-001
haven clues DEMO-001
haven search-text DEMO-001 total  # a word printed on the sample receipts
haven search-scene DEMO-001 "EXHIBIT-1:/Downloads/resized/copy_000.jpg" --limit 3  # finds its original in DCIM

echo "== Web app: the first administrator (one-time password) and access to DEMO-001"
admin_password="$(haven user bootstrap-admin --bare)"
haven case add-member DEMO-001 admin --role admin

haven audit verify DEMO-001

echo
echo "Look here:"
echo "  report (open in a browser): $out/report/report.html"
echo "  machine-readable report:    $out/report/report.json"
echo "  case store (SQLite):        $HAVEN_HOME/haven.db"
echo
echo "Web app (review and categorize DEMO-001):"
echo "  start it:  make serve    (or: HAVEN_HOME=$HAVEN_HOME .venv/bin/haven serve)"
echo "  open:      http://127.0.0.1:8750/login"
echo "  log in:    admin / ${admin_password:-<users existed already: use your own account>}"
echo "  This one-time password is shown only now; the first login asks for a new one."
