"""The baseline of bench/portfolio_page.py: a lean WSGI app, raw SQL and one Jinja template.

It shows the same information as the public portfolio page (the person, the summary line, and for
each credential its image, name, issuer, date, state and time of check, the checks of its latest
report, the download links, a "verify now" form and the learner's evidence), read with four
plain SQL queries from the same SQLite database and rendered by one Jinja template; no framework,
no ORM, no cache. Served by gunicorn: `gunicorn bench.lean_portfolio:app` with LEAN_DATABASE set to
the SQLite file.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from jinja2 import Environment

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ owner }}: {{ p.title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/css/wallet.css"><link rel="stylesheet" href="/static/css/portfolio.css">
{% for c in credentials %}<link rel="alternate" type="{{ c.media }}" href="/p/{{ p.slug }}/credentials/{{ c.id }}/original" title="{{ c.name }}">
{% endfor %}</head>
<body class="public-page portfolio-page"><main>
<article class="portfolio"><header class="portfolio-person panel"><div class="person-text">
<h1>{{ owner }}</h1><p class="portfolio-title">{{ p.title }}</p>
{% if p.headline %}<p class="headline">{{ p.headline }}</p>{% endif %}
<p class="summary-line">{{ summary }}</p></div></header>
<section class="portfolio-credentials"><h2>Credentials</h2><ol class="portfolio-entries">
{% for c in credentials %}<li class="portfolio-entry" id="credential-{{ c.id }}" data-status="{{ c.status }}">
<article class="credential-card"><img class="badge-image" src="/p/{{ p.slug }}/credentials/{{ c.id }}/image" alt="{{ c.name }}" width="96" height="96" loading="lazy">
<div class="card-body"><h3 class="card-title"><a href="/p/{{ p.slug }}/credentials/{{ c.id }}">{{ c.name }}</a></h3>
<p class="card-issuer">{{ c.issuer_name or "Unnamed issuer" }} <span class="issuer-id">{{ c.issuer }}</span></p>
{% if c.issued_at %}<p class="card-date">Issued {{ c.issued_at }}</p>{% endif %}
<span class="state-line"><span class="state" data-status="{{ c.status }}">{{ c.word }}</span>
<span class="state-time">checked <time datetime="{{ c.checked_at }}">{{ c.ago }}</time></span></span></div></article>
<div class="entry-more">{% if c.checks %}<details class="entry-report"><summary>What was checked ({{ c.checks|length }} checks)</summary>
<ol class="checks">{% for check in c.checks %}<li class="check check-{{ check.status }}">{{ check.message }}
{% if check.detail %}<dl>{% for k, v in check.detail.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>{% endif %}</li>{% endfor %}</ol></details>{% endif %}
<p class="check-yourself">Check it yourself: <a href="/p/{{ p.slug }}/credentials/{{ c.id }}/original" download>Download the original</a></p>
<form method="post" action="/p/{{ p.slug }}/credentials/{{ c.id }}/verify"><input type="hidden" name="csrf_token" value="{{ token }}">
<button type="submit">Verify now</button></form>
{% if c.evidence %}<div class="learner-words"><p class="hint">In {{ owner }}'s own words</p><ul>
{% for e in c.evidence %}<li><strong>{{ e.title }}</strong> {{ e.text or e.url or "" }}</li>{% endfor %}</ul></div>{% endif %}
</div></li>
{% endfor %}</ol></section></article></main></body></html>
"""
WORDS = {"valid": "Verified", "revoked": "Revoked by issuer", "invalid": "Not genuine", "expired": "Expired",
         "not_yet_valid": "Not yet valid", "unverifiable": "Couldn't verify"}
MEDIA = {"application/json": "application/ld+json", "application/jwt": "application/vc+jwt"}
_template = Environment(autoescape=True).from_string(TEMPLATE)
_local = threading.local()


def _connection() -> sqlite3.Connection:
    if not hasattr(_local, "db"):
        _local.db = sqlite3.connect(os.environ["LEAN_DATABASE"], check_same_thread=False)
        _local.db.row_factory = sqlite3.Row
    return _local.db


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def page(slug: str) -> str | None:
    """Return the portfolio page of `slug`, or None if it is not public."""
    db = _connection()
    portfolio = db.execute("SELECT p.id, p.slug, p.title, p.headline, u.display_name FROM portfolios p "
                           "JOIN users u ON u.id = p.owner_id WHERE p.slug = ? AND p.visibility != 'private'",
                           (slug,)).fetchone()
    if portfolio is None:
        return None
    rows = db.execute("SELECT c.id, c.name, c.issuer_name, c.verified_issuer, c.issuer_id, c.issued_at, c.status, "
                      "c.checked_at, c.original_type, i.include_evidence FROM portfolio_items i "
                      "JOIN credentials c ON c.id = i.credential_id WHERE i.portfolio_id = ? "
                      "ORDER BY i.position, i.id", (portfolio["id"],)).fetchall()
    ids = [row["id"] for row in rows]
    marks = ",".join("?" * len(ids)) or "NULL"
    reports = {row[0]: json.loads(row[1]) for row in db.execute(
        f"SELECT credential_id, report FROM verification_records WHERE id IN (SELECT max(id) FROM "
        f"verification_records WHERE credential_id IN ({marks}) GROUP BY credential_id)", ids)}
    evidence: dict[int, list[sqlite3.Row]] = {}
    for row in db.execute(f"SELECT credential_id, title, text, url FROM evidence WHERE credential_id IN ({marks}) "
                          "ORDER BY position, id", ids):
        evidence.setdefault(row["credential_id"], []).append(row)
    now = datetime.now(timezone.utc)
    credentials = []
    for row in rows:
        checked = _moment(row["checked_at"])
        checks = [{"status": c.get("status"), "message": c.get("message"),
                   "detail": {k: v for k, v in (c.get("detail") or {}).items() if isinstance(v, str | int)}}
                  for c in (reports.get(row["id"]) or {}).get("checks", []) if c.get("id") != "recipient"]
        credentials.append({
            "id": row["id"], "name": row["name"], "issuer_name": row["issuer_name"],
            "issuer": row["verified_issuer"] or row["issuer_id"] or "", "status": row["status"],
            "word": WORDS.get(row["status"], row["status"]), "checked_at": checked.isoformat(),
            "ago": _ago(checked, now),
            "issued_at": _moment(row["issued_at"]).strftime("%d %B %Y") if row["issued_at"] else None,
            "media": MEDIA.get(row["original_type"], row["original_type"]), "checks": checks,
            "evidence": evidence.get(row["id"], []) if row["include_evidence"] else []})
    states = Counter(c["status"] for c in credentials)
    providers = len({c["issuer"] or c["issuer_name"] for c in credentials})
    summary = f"{len(credentials)} credentials from {providers} providers · {states['valid']} verified"
    return _template.render(p=portfolio, owner=portfolio["display_name"], credentials=credentials, summary=summary,
                            token="static-token")


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Serve /p/<slug> (and /healthz)."""
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    body = page(path.removeprefix("/p/")) if path.startswith("/p/") else None
    if body is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    data = body.encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]
