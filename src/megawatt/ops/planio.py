"""The plan feeds the operation and back: ``import_plan`` turns a plan's allocation into
registry rows and ledger grants; ``registry_scenario`` turns the live registry into a
scenario to plan with (``export_scenario`` writes it; the day-ahead schedule,
:mod:`megawatt.ops.schedule`, dispatches it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt import scenario as scenario_lib
from megawatt.errors import InputError
from megawatt.ops import audit, ledger
from megawatt.ops.models import Application, Cap, Contract, Operator, Site
from megawatt.ops.seed import PROGRAM_CAP_NAME, seed_caps
from megawatt.report.export import read_results


@dataclass
class ImportReport:
    """What an import did; a second import of the same plan does nothing."""

    effective_from: dt.datetime
    created: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unlicensed: list[str] = field(default_factory=list)
    contracts: list[str] = field(default_factory=list)
    no_contract: str = ""


@dataclass(frozen=True)
class SiteTerms:
    """Contract terms a plan does not carry: the ramp time a site has after the notice,
    and the penalty per MWh of shortfall below the firm service level (in the tariff's
    currency). Both are the authority's to set, so the import asks for them."""

    ramp_minutes: int
    penalty_local_per_mwh: Decimal


def effective_start(sc: scenario_lib.Scenario) -> dt.datetime:
    """Midnight of the contract's first day in the scenario's time zone, as UTC."""
    start = sc.program.contract.start
    if start is None:
        raise InputError(
            None,
            "program.contract.start",
            "the plan's scenario has no contract start: the grants need an effective date",
        )
    local = dt.datetime.combine(start, dt.time(0), ZoneInfo(sc.timezone))
    return local.astimezone(dt.UTC)


def _get_or_create(session: Session, actor: str, report: ImportReport, row, key: dict, entity):  # type: ignore[no-untyped-def]
    model = type(row)
    found = session.scalars(select(model).filter_by(**key)).first()
    if found is not None:
        return found
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", entity, row.id, None, audit.snapshot(row))
    report.created.append(f"{entity} {key}")
    return row


def _contract(
    sc: scenario_lib.Scenario,
    applicant: scenario_lib.Applicant,
    site: Site,
    app: Application,
    terms: SiteTerms,
) -> Contract:
    """The plan's contract of one applicant: the program's tariff, notice, start, term
    and reviews, the applicant's firm share; its firm service level is its firm share
    (the share of its allocation it may keep drawing during an event: 0 for a miner that
    goes to zero, 1 for a firm AI load that is never curtailed)."""
    program = sc.program
    c = program.contract
    assert c.start is not None  # effective_start() checked it
    share = Decimal(str(applicant.firm_share)).quantize(Decimal("0.000001"))
    return Contract(
        site_id=site.id,
        application_id=app.id,
        tariff_scheme=program.tariff.scheme,
        tariff_local_per_kwh=Decimal(str(program.tariff.local_per_kwh)),
        firm_share=share,
        firm_service_level=share,
        notice_minutes=c.notice_minutes,
        ramp_minutes=terms.ramp_minutes,
        penalty_local_per_mwh=terms.penalty_local_per_mwh,
        start=c.start,
        term_months=round(c.term_years * 12),
        review_months=c.review_months,
    )


def import_plan(
    session: Session, out_dir: Path, actor: str, terms: SiteTerms | None = None
) -> ImportReport:
    """Caps, operators, sites, applications and grants from a plan's output directory.

    Each applicant becomes an operator and a site of the same name (no position yet)
    with its application; each allocated MW becomes a ledger grant (or change) effective
    at the contract start, for sites that hold an active licence then. Sites without
    one are listed as ``unlicensed`` and get no grant: licences are not invented; add
    them (POST /licences) and import again. With ``terms``, each application also gets
    its contract (:func:`_contract`; one per application, kept if there). A
    time-of-use tariff is not imported as contracts: the contract table holds one
    price (its bands come with metering and invoices). Idempotent: what is already
    there is kept. One transaction: a cap conflict anywhere leaves nothing written."""
    out_dir = Path(out_dir)
    tables, summary = read_results(out_dir)
    path = out_dir / "scenario" / "scenario.yaml"
    if not path.is_file():
        raise InputError(str(out_dir), "scenario/", "no scenario copy: not a plan output?")
    sc = scenario_lib.load(path)
    if "allocations" not in tables:
        raise InputError(str(out_dir), "data/allocations.parquet", "missing: not a plan output")
    alloc = tables["allocations"]
    seed_caps(session, sc, actor)
    report = ImportReport(effective_start(sc))
    if terms is None:
        report.no_contract = "no ramp time and penalty given (--ramp-minutes, --penalty-per-mwh)"
    elif sc.program.tariff.scheme != "flat":
        report.no_contract = "time-of-use tariff: contracts hold one price so far"
    generated = summary.get("generated_utc", "")
    for applicant in sorted(sc.applicants, key=lambda a: (a.application_date, a.name)):
        op = _get_or_create(
            session,
            actor,
            report,
            Operator(name=applicant.name),
            {"name": applicant.name},
            "operator",
        )
        site = _get_or_create(
            session,
            actor,
            report,
            Site(
                operator_id=op.id,
                name=applicant.name,
                kind=applicant.kind,
                zone=applicant.zone,
                plant=applicant.plant,
            ),
            {"name": applicant.name},
            "site",
        )
        if (site.zone, site.plant) != (applicant.zone, applicant.plant):
            raise InputError(
                str(path),
                f"applicants: {applicant.name}",
                f"site {site.name} is registered at zone {site.zone}, plant {site.plant}; "
                f"the plan has zone {applicant.zone}, plant {applicant.plant}",
            )
        requested_kw = ledger.to_kw(Decimal(str(applicant.requested_mw)).quantize(Decimal("0.001")))
        application = _get_or_create(
            session,
            actor,
            report,
            Application(
                site_id=site.id,
                requested_kw=requested_kw,
                application_date=applicant.application_date,
                status="pending",
            ),
            {
                "site_id": site.id,
                "requested_kw": requested_kw,
                "application_date": applicant.application_date,
            },
            "application",
        )
        if terms is not None and not report.no_contract:
            before = len(report.created)
            _get_or_create(
                session,
                actor,
                report,
                _contract(sc, applicant, site, application, terms),
                {"site_id": site.id, "application_id": application.id},
                "contract",
            )
            if len(report.created) > before:
                report.contracts.append(site.name)
        mw = (
            float(alloc.loc[applicant.name, "allocated_mw"])
            if applicant.name in alloc.index
            else 0.0
        )
        target = Decimal(str(mw)).quantize(Decimal("0.001"))
        at = report.effective_from
        current = ledger.level_kw(session, site.id, at)
        if ledger.to_kw(target) == current:
            report.unchanged.append(site.name)
            continue
        if target > 0 and ledger.licensed_at(session, site.id, at) is None:
            report.unlicensed.append(site.name)
            continue
        ledger.append(
            session,
            site_id=site.id,
            kind="grant" if current == 0 else ("revoke" if target == 0 else "change"),
            effective_from=at,
            mw=None if target == 0 else target,
            reason=f"plan {out_dir.name} generated {generated}",
            actor=actor,
            application_id=application.id,
        )
        report.granted.append(f"{site.name} {target} MW")
    return report


def registry_applicants(
    session: Session, base: scenario_lib.Scenario, at: dt.datetime
) -> list[scenario_lib.Applicant]:
    """The registry's sites as applicants of ``base``: each site with a pending or
    granted application or an allocation at ``at``; its allocation at ``at`` is its
    committed MW, its largest open request (or its allocation) its requested MW. A
    site ``base`` already lists keeps the rest of that entry (value, fleet, backup);
    others are new, non-illustrative applicants. In site id order."""
    by_name = {a.name: a for a in base.applicants}
    applicants = []
    for site in session.scalars(select(Site).order_by(Site.id)):
        apps = list(
            session.scalars(
                select(Application)
                .where(
                    Application.site_id == site.id, Application.status.in_(("pending", "granted"))
                )
                .order_by(Application.application_date, Application.id)
            )
        )
        level = ledger.level_kw(session, site.id, at)
        requested = max([a.requested_kw for a in apps] + [level])
        if requested == 0:
            continue
        fields = {
            "name": site.name,
            "kind": site.kind,
            "zone": site.zone,
            "plant": site.plant,
            "requested_mw": float(ledger.to_mw(requested)),
            "committed_mw": float(ledger.to_mw(level)) if level else None,
            "application_date": apps[0].application_date if apps else site.created_at.date(),
        }
        if site.name in by_name:
            applicants.append(by_name[site.name].model_copy(update=fields))
        else:
            applicants.append(scenario_lib.Applicant(**fields, illustrative=False))
    return applicants


def registry_scenario(
    session: Session,
    base: scenario_lib.Scenario,
    at: dt.datetime,
    applicants: list[scenario_lib.Applicant] | None = None,
) -> scenario_lib.Scenario:
    """``base`` with the registry's sites as applicants (:func:`registry_applicants` at
    ``at``, unless ``applicants`` is given) and the database's caps as the program's
    caps. The copy keeps ``base``'s origin, so its series files are found. Raises
    :class:`InputError` when the result is not a valid scenario."""
    caps = list(session.scalars(select(Cap)))
    if applicants is None:
        applicants = registry_applicants(session, base, at)
    program = base.program.model_copy(
        update={
            "cap_mw": next(
                (
                    c.cap_kw / 1000
                    for c in caps
                    if (c.scope, c.name) == ("program", PROGRAM_CAP_NAME)
                ),
                base.program.cap_mw,
            ),
            "zone_caps_mw": {c.name: c.cap_kw / 1000 for c in caps if c.scope == "zone"},
            "plant_caps_mw": {c.name: c.cap_kw / 1000 for c in caps if c.scope == "plant"},
        }
    )
    candidate = base.model_copy(update={"program": program, "applicants": applicants})
    try:
        scenario_lib.Scenario.model_validate(candidate.model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            None, where, f"the registry makes an invalid scenario: {first['msg']}"
        ) from None
    return candidate


def export_scenario(
    session: Session, base: scenario_lib.Scenario, directory: Path, at: dt.datetime
) -> Path:
    """Write ``base`` with the registry's sites as applicants and the database's caps as
    the program's caps (:func:`registry_scenario`); each site's allocation at ``at``
    becomes its committed MW. Returns the scenario.yaml path."""
    return scenario_lib.dump(registry_scenario(session, base, at), directory)
