"""The business logic written with the ElaadNL ``openadr3-client`` package (Python >=
3.12), run by tests/test_ops_vtn_serve.py in its own virtual environment against
``megawatt serve``, with the credentials of an ``authority`` client.

Reads a JSON job on stdin, prints a JSON result on stdout; ``job["do"]`` is

- ``"setup"``: create the program ``job["program"]``, register the VEN ``job["ven"]``
  (its clientID ``job["ven_client_id"]``: the licensed site of that name becomes the
  VEN) and create each event of ``job["events"]`` (eventRequests without programID);
- ``"reports"``: read the reports of clientName ``job["client_name"]``.

Not a test module (it does not import megawatt): it only speaks HTTP to the VTN.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.oadr310.models.event.event import NewEvent
from openadr3_client.oadr310.models.program.program import NewProgram
from openadr3_client.oadr310.models.ven.ven import NewVenBlRequest
from openadr3_client.version import OADRVersion


def main() -> None:
    job = json.load(sys.stdin)
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback HTTP in tests
    bl: Any = BusinessLogicHttpClientFactory.create_http_bl_client(
        vtn_base_url=job["base"],
        client_id=job["client_id"],
        client_secret=job["client_secret"],
        token_url=job["token_url"],
        allow_insecure_http=True,
        version=OADRVersion.OADR_310,
    )
    out: dict[str, Any] = {}
    if job["do"] == "setup":
        program = bl.programs.create_program(NewProgram(program_name=job["program"]))
        out["program"] = program.id
        ven = bl.vens.create_ven(
            NewVenBlRequest.model_validate(
                {"venName": job["ven"], "clientID": job["ven_client_id"]}
            )
        )
        out["ven"] = {"id": ven.id, "name": ven.ven_name, "client_id": ven.client_id}
        out["events"] = []
        for body in job["events"]:
            new = NewEvent.model_validate({**body, "programID": program.id})
            created = bl.events.create_event(new)
            out["events"].append({"id": created.id, "targets": list(created.targets or ())})
    elif job["do"] == "reports":
        reports = bl.reports.get_reports(
            pagination=None, program_id=None, event_id=None, client_name=job["client_name"]
        )
        out["reports"] = [
            {
                "id": r.id,
                "client_name": r.client_name,
                "event_id": r.event_id,
                "values": [
                    v
                    for res in r.resources
                    for iv in res.intervals
                    for p in iv.payloads
                    for v in p.values
                ],
            }
            for r in reports
        ]
    else:
        raise SystemExit(f"unknown job {job['do']!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
