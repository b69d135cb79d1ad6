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
python -m haven.demo "$out/evidence" "$out/hashsets" --photos "$photos" --partner-evidence "$out/partner-evidence"

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

echo "== Intelligence: identifiers in the seized lists, chats and mail; targets; routing"
haven intel agencies import docs/agencies.example.toml  # who receives leads per country (fictional units)
haven intel extract DEMO-001
haven intel identifiers DEMO-001
haven intel targets DEMO-001
haven intel route DEMO-001
python -m haven.intel.sightings.demo DEMO-001 "$out/sightings"  # a monitor's CSV and a STIX tip (synthetic)
haven intel sightings import "$out/sightings/monitor.csv" --case DEMO-001 --source "P2P monitor (demo)"
haven intel sightings import "$out/sightings/tip.stix.json" --case DEMO-001

echo "== Deconfliction with a partner agency (its own store; only keyed hashes cross over)"
key_hex="$(python -c 'import secrets; print(secrets.token_hex(32))')"  # agreed out of band
(
    export HAVEN_HOME="$out/partner-data"
    haven case create PARTNER-OP-7 --title "Partner agency's case"
    haven ingest PARTNER-OP-7 "$out/partner-evidence" --label SEIZURE-7 >/dev/null
    haven intel extract PARTNER-OP-7 >/dev/null
    haven intel register key import demo-partners --hex "$key_hex" >/dev/null
    haven intel register export --key demo-partners --out "$out/partner-register.json" \
        --agency "Partner Agency (demo)" --contact "duty officer, +44 20 7946 0000, intel@partner.example"
)
haven intel register key import demo-partners --hex "$key_hex" >/dev/null
haven intel register import "$out/partner-register.json" --key demo-partners
haven intel deconflict DEMO-001
# The referral goes to the country most targets were routed to.
country="$(haven intel route DEMO-001 --json | python -c 'import json, sys
countries = json.load(sys.stdin)["countries"]
print(max(countries, key=lambda c: (c["targets"], c["leads"]))["country"] if countries else "US")')"
haven intel referral DEMO-001 --country "$country" --format html --out "$out/referral-$country.html"
haven intel referral DEMO-001 --country "$country" --format stix --out "$out/referral-$country.stix.json"

echo "== The report again, now with its Intelligence section (targets and their link graph)"
haven report DEMO-001 --out "$out/report" >/dev/null

echo "== Web app: the first administrator (one-time password) and access to DEMO-001"
admin_password="$(haven user bootstrap-admin --bare)"
haven case add-member DEMO-001 admin --role admin

haven audit verify DEMO-001

echo
echo "Look here:"
echo "  report (open in a browser): $out/report/report.html"
echo "  machine-readable report:    $out/report/report.json"
echo "  case store (SQLite):        $HAVEN_HOME/haven.db"
echo "  referral for $country:        $out/referral-$country.html (and .stix.json: hashes and metadata, never media)"
echo
echo "Web app (review and categorize DEMO-001):"
echo "  start it:  make serve    (or: HAVEN_HOME=$HAVEN_HOME .venv/bin/haven serve)"
echo "  open:      http://127.0.0.1:8750/login"
echo "  log in:    admin / ${admin_password:-<users existed already: use your own account>}"
echo "  This one-time password is shown only now; the first login asks for a new one."
echo
echo "Intelligence is shown only to members of a case (admin is DEMO-001's member now), on the CLI too:"
echo "  HAVEN_HOME=$HAVEN_HOME HAVEN_USER=admin .venv/bin/haven intel identifiers DEMO-001"
