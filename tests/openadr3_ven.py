"""A VEN written with the ElaadNL ``openadr3-client`` package (Python >= 3.12), run by
tests/test_ops_vtn_serve.py in its own virtual environment against ``megawatt serve``.

Reads a JSON job on stdin, prints a JSON result on stdout. Not a test module (it does
not import megawatt): the VEN only speaks HTTP to the VTN.
"""

from __future__ import annotations

import json
import os
import sys

from openadr3_client.oadr310._vtn.interfaces.filters import TargetFilter
from openadr3_client.oadr310.models.report.report import NewReport
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion


def main() -> None:
    job = json.load(sys.stdin)
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback HTTP in tests
    ven = VirtualEndNodeHttpClientFactory.create_http_ven_client(
        vtn_base_url=job["base"],
        client_id=job["client_id"],
        client_secret=job["client_secret"],
        token_url=job["token_url"],
        allow_insecure_http=True,
        version=OADRVersion.OADR_310,
    )
    out: dict[str, object] = {}
    programs = ven.programs.get_programs(target=None, pagination=None)
    out["programs"] = [p.program_name for p in programs]
    events = ven.events.get_events(
        target=TargetFilter(targets=[job["ven_name"]]), pagination=None, program_id=None
    )
    out["events"] = [
        {
            "id": e.id,
            "targets": list(e.targets or ()),
            "limits": [[v for p in iv.payloads for v in p.values] for iv in e.intervals],
        }
        for e in events
    ]
    out["all_events"] = [e.id for e in ven.events.get_events(None, None, None)]
    report = NewReport.model_validate(
        {
            "eventID": events[0].id,
            "clientName": job["ven_name"],
            "reportName": "usage",
            "resources": [
                {
                    "resourceName": "AGGREGATED_REPORT",
                    "intervalPeriod": {"start": "2026-12-04T12:00:00Z", "duration": "PT1H"},
                    "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [4200.0]}]}],
                }
            ],
        }
    )
    created = ven.reports.create_report(report)
    out["report"] = {"id": created.id, "client_id": created.client_id}
    out["vens"] = [
        v.ven_name for v in ven.vens.get_vens(ven_name=None, target=None, pagination=None)
    ]
    # The client's subscription model says GET/POST/PUT/DELETE where the spec says
    # READ/CREATE/UPDATE/DELETE, so the VEN posts the spec's body with the client's own
    # authenticated session (its token manager, its bearer token).
    session = ven.reports.session  # type: ignore[attr-defined]
    resp = session.post(
        f"{job['base']}/subscriptions",
        json={
            "clientName": job["ven_name"],
            "objectOperations": [
                {
                    "objects": ["EVENT"],
                    "operations": ["CREATE", "UPDATE", "DELETE"],
                    "callbackUrl": job["callback"],
                    "bearerToken": job["hook_token"],
                }
            ],
        },
    )
    out["subscription"] = {"status": resp.status_code, "body": resp.json()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
