"""People who log in to the dashboard: users, passwords (argon2id), sessions, CSRF.

A user has the same role and scope as an OAuth2 client (authority, system operator,
operator, site) and becomes the same :class:`~megawatt.ops.auth.Principal`, so the
rules of megawatt.ops.access apply to both. Passwords are hashed with argon2id
(argon2-cffi's RFC 9106 low-memory profile); a session is a random 256-bit token in
an HttpOnly, SameSite=Lax cookie, stored only as its SHA-256, with its own CSRF
token that every form carries. Five wrong passwords lock the account for 15 minutes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from megawatt.ops import audit
from megawatt.ops.auth import Principal, check_scope
from megawatt.ops.models import User, WebSession
from megawatt.ops.problems import Problem, invalid, not_found

#: argon2id with RFC 9106's second recommended profile (t=3, 64 MiB, p=4).
HASHER = PasswordHasher()
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SESSION_HOURS = 12
IDLE_MINUTES = 60
#: A session's last-seen time is written at most this often (reads stay reads).
SEEN_EVERY = dt.timedelta(minutes=1)
LOCK_AFTER = 5
LOCK_MINUTES = 15


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def principal(user: User) -> Principal:
    """The user as a principal: the rules of megawatt.ops.access apply unchanged."""
    return Principal(f"user:{user.username}", user.role, user.operator_id, user.site_id)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise invalid(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            "password",
            f"{MIN_PASSWORD}..{MAX_PASSWORD} characters",
        )


def _snapshot(user: User) -> dict[str, object]:
    snap = audit.snapshot(user) or {}
    snap.pop("password_hash", None)
    return snap


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    actor: str,
    operator_id: int | None = None,
    site_id: int | None = None,
) -> User:
    """Create a user (422 problem naming the field for a bad role, scope or password;
    409 when the name is taken)."""
    if not username or len(username) > 100 or not username.isprintable() or " " in username:
        raise invalid("a username has 1 to 100 printable characters, no spaces", "username", "")
    check_scope(session, "user", role, operator_id, site_id)
    _check_password(password)
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Problem(
            409,
            "Conflict",
            f"user {username!r} exists",
            [{"field": "username", "message": "already exists"}],
        )
    user = User(
        username=username,
        password_hash=HASHER.hash(password),
        role=role,
        operator_id=operator_id if role == "operator" else None,
        site_id=site_id if role == "site" else None,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "create", "user", user.id, None, _snapshot(user))
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise not_found("user", username, "username")
    return user


def set_password(session: Session, username: str, password: str, actor: str) -> User:
    """A new password; every session of the user ends and a lock is lifted."""
    _check_password(password)
    user = get_user(session, username)
    before = _snapshot(user)
    user.password_hash = HASHER.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(session, user.id)
    session.flush()
    audit.record(session, actor, "update", "user", user.id, before, _snapshot(user))
    return user


def set_disabled(session: Session, username: str, disabled: bool, actor: str) -> User:
    """Disable a user (its sessions end at once) or enable it again."""
    user = get_user(session, username)
    before = _snapshot(user)
    user.disabled_at = (user.disabled_at or _now()) if disabled else None
    if disabled:
        end_sessions(session, user.id)
    session.flush()
    audit.record(session, actor, "update", "user", user.id, before, _snapshot(user))
    return user


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=_now())
    )


#: A hash of a random password: checking it costs the same as checking a real one, so
#: the time of a refusal does not tell whether the username exists.
@functools.cache
def _dummy() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


WRONG = "wrong username or password"


#: At most this many password checks at once per process (each argon2 check takes
#: 64 MiB and tens of milliseconds of a core): a flood of logins queues here instead
#: of exhausting memory.
CHECKS = threading.BoundedSemaphore(4)


def authenticate(session: Session, username: str, password: str) -> tuple[User | None, str]:
    with CHECKS:
        return _authenticate(session, username, password)


def _authenticate(session: Session, username: str, password: str) -> tuple[User | None, str]:
    """``(user, "")`` for a right name and password, else ``(None, why)`` with the same
    message whether the name or the password was wrong. Never raises: a failed
    attempt's counter and audit entry are writes the caller commits."""
    now = _now()
    # The row is locked: parallel wrong guesses count one after the other (on SQLite
    # the transaction already holds the write lock).
    user = session.scalars(select(User).where(User.username == username).with_for_update()).first()
    if user is None:
        with contextlib.suppress(VerificationError):
            HASHER.verify(_dummy(), password)
        audit.record(session, f"user:{username[:100]}", "login-failed", "user", None, None, None)
        return None, WRONG
    if user.locked_until is not None and user.locked_until > now:
        # The same answer and the same cost as a wrong password: a lock does not tell
        # that the name exists.
        with contextlib.suppress(VerificationError):
            HASHER.verify(_dummy(), password)
        audit.record(session, f"user:{username}", "login-refused", "user", user.id, None, None)
        return None, WRONG
    try:
        HASHER.verify(user.password_hash, password)
        ok = user.disabled_at is None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
        audit.record(session, f"user:{username}", "login-failed", "user", user.id, None, None)
        return None, WRONG
    user.failed_logins = 0
    user.locked_until = None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return user, ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Login:
    """A live session: who, and the CSRF token its forms carry."""

    user_id: int
    username: str
    principal: Principal
    csrf: str
    expires_at: dt.datetime


def start_session(session: Session, user: User) -> str:
    """A new session for ``user``; returns the cookie value (shown once)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(
        WebSession(
            token_sha256=_digest(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            seen_at=now,
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
        )
    )
    audit.record(session, principal(user).actor, "login", "user", user.id, None, None)
    session.flush()
    return token


def current(session: Session, token: str | None, touch: bool = True) -> Login | None:
    """The live session of a cookie value, or None (unknown, ended, expired, idle for
    longer than IDLE_MINUTES, or the user disabled). One query."""
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_sha256 == _digest(token))
    ).first()
    if row is None:
        return None
    web, user = row
    now = _now()
    if (
        web.ended_at is not None
        or web.expires_at <= now
        or web.seen_at + dt.timedelta(minutes=IDLE_MINUTES) <= now
        or user.disabled_at is not None
    ):
        return None
    if touch and now - web.seen_at >= SEEN_EVERY:
        web.seen_at = now
    return Login(user.id, user.username, principal(user), web.csrf, web.expires_at)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(
            update(WebSession)
            .where(WebSession.token_sha256 == _digest(token), WebSession.ended_at.is_(None))
            .values(ended_at=_now())
        )


def csrf_ok(expected: str, got: str | None) -> bool:
    return bool(got) and hmac.compare_digest(expected.encode(), (got or "").encode())
