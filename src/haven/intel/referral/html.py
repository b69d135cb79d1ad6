"""A referral as one readable HTML page: no script, no media, no external resource, print-friendly
(a browser's "Save as PDF" gives the PDF). Jinja2 with autoescaping: values from seized material are text."""

from __future__ import annotations

from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Referral {{ d.case }} → {{ d.country }} (TLP:{{ d.tlp|upper }})</title>
<style>
  body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
  h1 { font-size: 16pt; margin-bottom: 0.2em; }
  h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 1.6em; }
  h3 { font-size: 11.5pt; margin-bottom: 0.3em; }
  table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; }
  th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
  th { background: #eee; }
  code { font: 9.5pt ui-monospace, monospace; word-break: break-all; }
  .tlp { display: inline-block; padding: 2px 8px; font-weight: bold; color: #fff;
         background: {{ '#c00' if d.tlp == 'red' else '#c60' }}; }
  .muted { color: #555; }
  .caveat { color: #6a4a00; }
  @media print { body { margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
</style>
</head>
<body>
<p><span class="tlp">TLP:{{ d.tlp|upper }}</span></p>
<h1>Referral of case {{ d.case }} to {{ d.country_name or d.country }} ({{ d.country }})</h1>
<p class="muted">Written {{ d.created_at }} by {{ d.created_by }}. {{ d.targets|length }} target(s),
{{ d.identifiers|length }} identifier(s), {{ d.contents|length }} content(s). No media is included: contents are
identified by their hashes.</p>

<h2>From</h2>
<table>
{% for key in ('agency', 'unit', 'name', 'email', 'phone', 'country') if d.sender[key] %}
<tr><th>{{ key }}</th><td>{{ d.sender[key] }}</td></tr>
{% endfor %}
</table>

<h2>To</h2>
<table>
{% for key in ('unit', 'contact', 'channel', 'email', 'phone', 'notes') if d.recipient[key] %}
<tr><th>{{ key }}</th><td>{{ d.recipient[key] }}</td></tr>
{% endfor %}
</table>
{% if d.recipient.fallback %}<p class="caveat">No unit is listed for {{ d.country }} in the agency directory:
this is the fallback route.</p>{% endif %}

<h2>Targets</h2>
{% for t in d.targets %}
<h3>{{ t.name }} — confidence {{ '%.2f'|format(t.confidence) }}</h3>
<table>
<tr><th>country</th><th>basis</th><th>weight</th><th>source</th><th>note</th></tr>
{% for e in t.evidence %}
<tr><td>{{ e.country }}</td><td>{{ e.basis }}</td><td>{{ e.weight }}</td><td>{{ e.source }}</td>
<td>{{ e.note or '' }}</td></tr>
{% endfor %}
</table>
{% for c in t.conflicts %}<p class="caveat">Conflict: {{ c.name or c.country }} ({{ c.country }}) has support
{{ c.support }} ({{ c.bases|join(', ') }}).</p>{% endfor %}
{% for c in t.caveats %}<p class="caveat">{{ c }}</p>{% endfor %}
<p>Identifiers: {% for i in t.identifiers -%}
<code>{{ by_id[i].type }} {{ by_id[i].value }}</code>{{ ', ' if not loop.last }}
{%- endfor %}</p>
{% else %}
<p class="muted">No target is routed here; the leads below belong to no target.</p>
{% endfor %}

<h2>Identifiers and evidence pointers</h2>
{% for i in d.identifiers %}
<h3><code>{{ i.type }} {{ i.value }}</code></h3>
<p class="muted">normalized <code>{{ i.normalized }}</code>; points to {{ i.country or '—' }};
{% if i.target %}target {{ i.target }}{% else %}no target{% endif %};
{% if i.first_observed %}observed {{ i.first_observed }}{% if i.last_observed != i.first_observed %}
to {{ i.last_observed }}{% endif %} (UTC){% else %}no time recorded beside it{% endif %}</p>
<table>
<tr><th>content SHA-256</th><th>path</th><th>line</th><th>field</th><th>observed (UTC)</th></tr>
{% for o in i.occurrences %}
<tr><td><code>{{ o.sha256 }}</code></td><td><code>{{ o.path }}</code></td><td>{{ o.line }}</td>
<td>{{ o.field or '' }}</td><td>{{ o.observed_at or '' }}</td></tr>
{% endfor %}
</table>
{% endfor %}

{% if d.sightings %}
<h2>Sightings</h2>
<table>
<tr><th>identifier</th><th>network</th><th>observed (UTC)</th><th>source</th><th>file SHA-256 / MD5</th>
<th>matched</th></tr>
{% for s in d.sightings %}
<tr><td><code>{{ by_id[s.identifier].type }} {{ by_id[s.identifier].value }}</code></td><td>{{ s.network or '' }}</td>
<td>{{ s.observed_at or '' }}</td><td>{{ s.source or '' }}</td><td><code>{{ s.sha256 or s.md5 or '' }}</code></td>
<td>{% for m in s.matches %}{{ m.method }}: {% if m.content_sha256 %}case content <code>{{ m.content_sha256 }}</code>
{%- else %}hash set {{ m.hash_set }} (category {{ m.category or '-' }}){% endif %}{{ '; ' if not loop.last }}
{%- endfor %}</td></tr>
{% endfor %}
</table>
{% endif %}

<h2>Contents (hashes and categories)</h2>
<table>
<tr><th>SHA-256</th><th>MD5</th><th>SHA-1</th><th>size</th><th>kind</th><th>status</th><th>category</th></tr>
{% for c in d.contents %}
<tr><td><code>{{ c.sha256 }}</code></td><td><code>{{ c.md5 }}</code></td><td><code>{{ c.sha1 }}</code></td>
<td>{{ c.size }}</td><td>{{ c.kind }}</td><td>{{ c.status }}</td><td>{{ c.category or '' }}</td></tr>
{% endfor %}
</table>
<p><span class="tlp">TLP:{{ d.tlp|upper }}</span></p>
</body>
</html>
"""

_ENV = Environment(loader=BaseLoader(), autoescape=True, undefined=StrictUndefined)
_COMPILED = _ENV.from_string(TEMPLATE)


def referral_html(document: dict[str, Any]) -> str:
    return _COMPILED.render(d=document, by_id={i["id"]: i for i in document["identifiers"]})
