"""Green Button (NAESB REQ.21 ESPI 3.3) export of a site's interval data.

An Atom feed: one UsagePoint (the site), and per meter a MeterReading, its ReadingType
(energy, delta data, forward flow, Wh with powerOfTenMultiplier -3, so each value is
exact milliwatt-hours: kWh has six decimals) and one IntervalBlock per local day of
the program's time zone. Only current readings with kWh appear: a missing interval
is absent (a gap stays a gap); an estimated one carries ReadingQuality 8 (replaced by
a machine-computed value). Validated against usage.xsd in the tests.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from decimal import Decimal
from itertools import groupby

from megawatt.ops.metering import PROGRAM_TZ
from megawatt.ops.models import Meter, Reading, Site

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
ET.register_namespace("", ATOM)
ET.register_namespace("espi", ESPI)
MWH_PER_KWH = Decimal(1_000_000)  # milliwatt-hours per kWh


def _a(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _e(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ESPI}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def _stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(t: dt.datetime) -> int:
    return int(t.timestamp())


def feed(
    site: Site,
    meters: Sequence[Meter],
    readings: Sequence[Reading],
    base_url: str,
    now: dt.datetime | None = None,
) -> bytes:
    """The feed for ``readings`` (current versions, ordered by meter and start)."""
    now = now or dt.datetime.now(dt.UTC)
    root = ET.Element(f"{{{ATOM}}}feed")
    up = f"{base_url}/espi/1_1/resource/Subscription/{site.id}/UsagePoint/{site.id}"
    _a(root, "id", f"urn:megawatt:site:{site.id}:greenbutton")
    _a(root, "title", f"Interval data of site {site.name}")
    _a(root, "updated", _stamp(now))
    _a(
        root,
        "link",
        rel="self",
        href=f"{base_url}/sites/{site.id}/greenbutton",
        type="application/atom+xml",
    )

    def entry(uid: str, title: str, self_href: str, up_href: str) -> ET.Element:
        el = _a(root, "entry")
        _a(el, "id", uid)
        kind = up_href.rsplit("/", 1)[-1]  # the ESPI resource (the URL's last name)
        _a(el, "link", rel="self", href=self_href, type=f"espi-entry/{kind}")
        _a(el, "link", rel="up", href=up_href, type=f"espi-feed/{kind}")
        _a(el, "title", title)
        _a(el, "published", _stamp(now))
        _a(el, "updated", _stamp(now))
        return _a(el, "content")

    content = entry(f"urn:megawatt:usagepoint:{site.id}", site.name, up, up.rsplit("/", 1)[0])
    point = _e(content, "UsagePoint")
    _e(_e(point, "ServiceCategory"), "kind", 0)  # electricity
    by_meter = {m: list(rs) for m, rs in groupby(readings, key=lambda r: r.meter_id)}
    for meter in meters:
        mr = f"{up}/MeterReading/{meter.id}"
        _e(
            entry(
                f"urn:megawatt:meter:{meter.id}", f"meter {meter.serial}", mr, f"{up}/MeterReading"
            ),
            "MeterReading",
        )
        rows = [r for r in by_meter.get(meter.id, []) if r.kwh is not None]
        minutes = rows[0].minutes if rows else 15
        rt = f"{base_url}/espi/1_1/resource/ReadingType/{meter.id}"
        reading_type = _e(
            entry(
                f"urn:megawatt:readingtype:{meter.id}",
                "energy, Wh x 10^-3",
                rt,
                rt.rsplit("/", 1)[0],
            ),
            "ReadingType",
        )
        _e(reading_type, "accumulationBehaviour", 4)  # delta data
        _e(reading_type, "commodity", 1)  # electricity, secondary metered
        _e(reading_type, "flowDirection", 1)  # forward (delivered to the site)
        _e(reading_type, "intervalLength", minutes * 60)
        _e(reading_type, "kind", 12)  # energy
        _e(reading_type, "powerOfTenMultiplier", -3)
        _e(reading_type, "uom", 72)  # Wh
        for day, group in groupby(
            rows, key=lambda r: r.interval_start.astimezone(PROGRAM_TZ).date()
        ):
            day_rows = list(group)
            start = dt.datetime.combine(day, dt.time(0), PROGRAM_TZ)
            end = start + dt.timedelta(days=1)
            href = f"{mr}/IntervalBlock/{day.isoformat()}"
            block = _e(
                entry(
                    f"urn:megawatt:block:{meter.id}:{day.isoformat()}",
                    f"{meter.serial} {day}",
                    href,
                    f"{mr}/IntervalBlock",
                ),
                "IntervalBlock",
            )
            interval = _e(block, "interval")
            _e(interval, "duration", int((end - start).total_seconds()))
            _e(interval, "start", _epoch(start))
            for r in day_rows:
                ir = _e(block, "IntervalReading")
                if r.quality == "estimated":
                    _e(_e(ir, "ReadingQuality"), "quality", 8)
                period = _e(ir, "timePeriod")
                _e(period, "duration", r.minutes * 60)
                _e(period, "start", _epoch(r.interval_start))
                assert r.kwh is not None
                _e(ir, "value", int(r.kwh * MWH_PER_KWH))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def read_wh(xml: bytes) -> dict[str, Decimal]:
    """Wh per meter (by MeterReading title ``meter SERIAL``) read back from a feed:
    each IntervalBlock's values x 10^powerOfTenMultiplier of its ReadingType."""
    root = ET.fromstring(xml)
    totals: dict[str, Decimal] = {}
    serial = ""
    scale = Decimal(1)
    for entry in root.findall(f"{{{ATOM}}}entry"):
        title = entry.findtext(f"{{{ATOM}}}title") or ""
        content = entry.find(f"{{{ATOM}}}content")
        if content is None:
            continue
        if content.find(f"{{{ESPI}}}MeterReading") is not None or title.startswith("meter "):
            serial = title.removeprefix("meter ")
            totals.setdefault(serial, Decimal(0))
        rt = content.find(f"{{{ESPI}}}ReadingType")
        if rt is not None:
            scale = Decimal(10) ** int(rt.findtext(f"{{{ESPI}}}powerOfTenMultiplier") or 0)
        block = content.find(f"{{{ESPI}}}IntervalBlock")
        if block is not None:
            for ir in block.findall(f"{{{ESPI}}}IntervalReading"):
                totals[serial] += Decimal(ir.findtext(f"{{{ESPI}}}value") or 0) * scale
    return totals
