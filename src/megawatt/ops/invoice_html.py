"""An invoice as an HTML page for people (Jinja2, autoescaped): local period in the
program's time zone, the lines, the total, and the rounding rule."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_PAGE = _ENV.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ inv.number }}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.3em .6em}td.n{text-align:right}</style></head>
<body>
<h1>{{ "Credit note" if inv.kind == "credit_note" else "Invoice" }} {{ inv.number }}</h1>
<p>Site {{ site.name }} (id {{ site.id }}), contract {{ inv.contract_id }}.<br>
Period: {{ inv.month }}, the local calendar month {{ inv.period_local }}
(Asia/Karachi; UTC {{ inv.period_start.isoformat() }} to {{ inv.period_end.isoformat() }}).<br>
Issued {{ inv.issued_at.isoformat() }} by {{ inv.issued_by }}.
{% if inv.credits_invoice_id %}<br>Cancels invoice id {{ inv.credits_invoice_id }}:
{{ inv.reason }}{% endif %}</p>
<p>Metered energy {{ inv.energy_kwh }} kWh from {{ inv.intervals }} intervals
({{ inv.estimated }} estimated, {{ inv.missing }} missing and not billed).</p>
<table>
<tr><th>#</th><th>Description</th><th>Quantity</th><th>Unit</th>
<th>Unit price (PKR)</th><th>Amount (PKR)</th></tr>
{% for x in inv.lines %}<tr><td>{{ x.position }}</td><td>{{ x.description }}</td>
<td class="n">{{ x.quantity }}</td><td>{{ x.unit }}</td><td class="n">{{ x.unit_price }}</td>
<td class="n">{{ x.amount }}</td></tr>
{% endfor %}<tr><th colspan="5">Total ({{ inv.currency }})</th>
<th class="n">{{ inv.total }}</th></tr>
</table>
<p>Each line's amount is quantity x unit price rounded half-up to the paisa (0.01 PKR);
the total is the sum of the lines.</p>
</body></html>
"""
)


def render(inv: dict[str, Any], site: Any) -> str:
    return _PAGE.render(inv=inv, site=site)
