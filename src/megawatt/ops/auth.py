"""OAuth2 client credentials: clients, secrets, JWT access tokens (joserfc, HS256).

A client is the program authority (registry, caps, ledger: all writes), the system
operator (NPCC/NTDC: reads everything, schedules and events), an operator (a company:
sees its own sites) or a site (sees itself).
Secrets are stored as PBKDF2-SHA256 hashes; tokens are signed with a random key kept
in the database (``signing_keys``), made on first use, and expire after an hour.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt.ops import audit
from megawatt.ops.models import Client, Operator, SigningKey, Site
from megawatt.ops.problems import Problem, invalid, not_found

ISSUER = "megawatt"
TOKEN_SECONDS = 3600
ITERATIONS = 100_000
ROLES = ("authority", "system_operator", "operator", "site")
#: Roles that see every site (the others see their own).
SEE_ALL = ("authority", "system_operator")


@dataclass(frozen=True)
class Principal:
    client_id: str
    role: str
    operator_id: int | None = None
    site_id: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.client_id}"


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def check_scope(
    session: Session, what: str, role: str, operator_id: int | None, site_id: int | None
) -> None:
    """A role and its scope, for a client or a dashboard user (422 naming the field): an
    operator needs an existing operator, a site an existing site, the authority and
    the system operator neither."""
    if role not in ROLES:
        raise invalid(f"role must be one of {', '.join(ROLES)}", "role", "unknown role")
    if role == "operator" and (operator_id is None or session.get(Operator, operator_id) is None):
        raise invalid(f"an operator {what} needs an existing operator", "operator_id", "required")
    if role == "site" and (site_id is None or session.get(Site, site_id) is None):
        raise invalid(f"a site {what} needs an existing site", "site_id", "required")
    if role in SEE_ALL and (operator_id or site_id):
        raise invalid(f"a {role} {what} has no operator or site", "role", "no scope")


def add_client(
    session: Session,
    client_id: str,
    role: str,
    actor: str,
    operator_id: int | None = None,
    site_id: int | None = None,
) -> str:
    """Register a client; return its secret (shown once, stored only as a hash)."""
    check_scope(session, "client", role, operator_id, site_id)
    if client_id.startswith("user:"):
        # Reserved: a dashboard user's actor is ROLE:user:NAME; a client may not pose.
        raise invalid("client ids starting with 'user:' are reserved", "client_id", "reserved")
    secret = secrets.token_urlsafe(32)
    row = Client(
        client_id=client_id,
        secret_hash=hash_secret(secret),
        role=role,
        operator_id=operator_id if role == "operator" else None,
        site_id=site_id if role == "site" else None,
    )
    session.add(row)
    session.flush()
    after = audit.snapshot(row)
    after.pop("secret_hash", None)  # type: ignore[union-attr]
    audit.record(session, actor, "create", "client", row.id, None, after)
    return secret


def _client(session: Session, client_id: str) -> Client:
    row = session.scalars(select(Client).where(Client.client_id == client_id)).first()
    if row is None:
        raise not_found("client", client_id, "client_id")
    return row


def _audit_client(session: Session, actor: str, row: Client, before: object) -> None:
    after = audit.snapshot(row)
    for snap in (before, after):
        if isinstance(snap, dict):
            snap.pop("secret_hash", None)
    audit.record(session, actor, "update", "client", row.id, before, after)


def set_disabled(session: Session, client_id: str, disabled: bool, actor: str) -> Client:
    """Disable a client (its tokens are refused at once, new ones are not issued) or
    enable it again (tokens issued before it was disabled stay refused)."""
    row = _client(session, client_id)
    before = audit.snapshot(row)
    now = dt.datetime.now(dt.UTC)
    if disabled:
        row.disabled_at = row.disabled_at or now
        row.tokens_after = now
    else:
        row.disabled_at = None
    session.flush()
    _audit_client(session, actor, row, before)
    return row


def rotate_secret(session: Session, client_id: str, actor: str) -> str:
    """A new secret for the client (returned once); the old secret and every token
    issued with it are refused from now on."""
    row = _client(session, client_id)
    before = audit.snapshot(row)
    secret = secrets.token_urlsafe(32)
    row.secret_hash = hash_secret(secret)
    row.tokens_after = dt.datetime.now(dt.UTC)
    session.flush()
    _audit_client(session, actor, row, before)
    return secret


def _new_key(session: Session) -> SigningKey:
    row = SigningKey(
        kid=secrets.token_hex(8),
        secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
    session.add(row)
    session.flush()
    return row


def rotate_signing_key(session: Session, actor: str, retire_old: bool = False) -> str:
    """Make a new signing key (the one new tokens are signed with) and return its kid.
    Tokens signed by older keys keep working until they expire (an hour), unless
    ``retire_old``: then they are refused at once (a key that may have leaked)."""
    now = dt.datetime.now(dt.UTC)
    if retire_old:
        for old in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
            old.retired_at = now
    row = _new_key(session)
    audit.record(
        session,
        actor,
        "create",
        "signing_key",
        row.id,
        None,
        {"kid": row.kid, "retired_old": retire_old},
    )
    return row.kid


def _signing_key(session: Session) -> tuple[str, OctKey]:
    row = session.scalars(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    ).first()
    if row is None:
        row = _new_key(session)
    return row.kid, OctKey.import_key(base64.urlsafe_b64decode(row.secret))


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        [{"field": "Authorization", "message": detail}],
        {"_headers": {"WWW-Authenticate": 'Bearer realm="megawatt"'}},
    )


def client_credentials(form_body: str, authorization: str | None) -> tuple[str, str]:
    """``(client_id, client_secret)`` of a token request (RFC 6749 section 4.4): form
    fields ``grant_type=client_credentials``, ``client_id``, ``client_secret``, or the
    id and secret as HTTP Basic. 400 problem (``unsupported_grant_type`` or
    ``invalid_request``) otherwise. Both token endpoints (the service's and the VTN's)
    read requests with this one function."""
    form = {k: v[0] for k, v in parse_qs(form_body).items()}
    basic = authorization or ""
    if basic.lower().startswith("basic "):
        try:
            cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote(cid))
            form.setdefault("client_secret", unquote(secret))
        except ValueError:
            pass
    if form.get("grant_type") != "client_credentials":
        raise Problem(
            400,
            "Bad request",
            "grant_type must be client_credentials",
            [{"field": "grant_type", "message": "unsupported_grant_type"}],
            {"error": "unsupported_grant_type"},
        )
    missing = [f for f in ("client_id", "client_secret") if not form.get(f)]
    if missing:
        raise Problem(
            400,
            "Bad request",
            f"missing {', '.join(missing)}",
            [{"field": f, "message": "required"} for f in missing],
            {"error": "invalid_request"},
        )
    return form["client_id"], form["client_secret"]


def issue_token(session: Session, client_id: str, secret: str) -> dict[str, object]:
    """An access token for valid client credentials (RFC 6749 section 4.4)."""
    client = session.scalars(select(Client).where(Client.client_id == client_id)).first()
    if (
        client is None
        or client.disabled_at is not None
        or not check_secret(secret, client.secret_hash)
    ):
        raise Problem(
            401,
            "Unauthorized",
            "invalid client credentials",
            [{"field": "client_secret", "message": "invalid_client"}],
            {"error": "invalid_client"},
        )
    kid, key = _signing_key(session)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": ISSUER,
        "sub": client.client_id,
        "role": client.role,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
    }
    if client.operator_id is not None:
        claims["operator_id"] = client.operator_id
    if client.site_id is not None:
        claims["site_id"] = client.site_id
    token = jwt.encode({"alg": "HS256", "kid": kid}, claims, key)
    return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}


def verify(session: Session, authorization: str | None) -> Principal:
    """The principal of a ``Bearer`` token; 401 problem if missing, bad or expired.

    One query: the token's ``kid`` and (not yet trusted) ``sub`` select the signing key
    and the client together; nothing is trusted before the signature verifies with
    that key."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _unauthorized("a Bearer access token is required (POST /auth/token)")
    token = authorization[7:].strip()
    try:
        kid, sub = _kid(token), _unverified_sub(token)
    except (ValueError, UnicodeDecodeError, IndexError):
        raise _unauthorized("malformed token") from None
    row = (
        session.execute(
            select(SigningKey, Client)
            .outerjoin(Client, Client.client_id == sub)
            .where(SigningKey.kid == kid)
        ).first()
        if kid and sub
        else None
    )
    if row is None or row[0].retired_at is not None:
        raise _unauthorized("unknown or retired signing key")
    key, client = row
    try:
        decoded = jwt.decode(
            token, OctKey.import_key(base64.urlsafe_b64decode(key.secret)), algorithms=["HS256"]
        )
        JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            sub={"essential": True, "value": sub},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, TypeError):
        raise _unauthorized("invalid or expired token") from None
    claims = decoded.claims
    if client is None or client.disabled_at is not None:
        raise _unauthorized("the client is disabled or gone")
    if client.tokens_after is not None and int(claims.get("iat", 0)) < int(
        client.tokens_after.timestamp()
    ):
        raise _unauthorized("the token was issued before the client's secret was rotated")
    return Principal(client.client_id, client.role, client.operator_id, client.site_id)


def _segment(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _unverified_sub(token: str) -> str | None:
    """The ``sub`` claim before verification: only to find the client row."""
    sub = _segment(token, 1).get("sub")
    return sub if isinstance(sub, str) else None


def _kid(token: str) -> str | None:
    kid = _segment(token, 0).get("kid")
    return kid if isinstance(kid, str) else None
