"""Tokens, roles and principals (contract section 2). Pure: no I/O.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored. A fast hash is
enough because the tokens carry full entropy: there is nothing to brute-force.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    INTEGRATOR = "integrator"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"
    MANAGER = "manager"  # the connection rollout report: counts and reasons, no plate, no hit
    INVESTIGATOR = "investigator"


# Which roles each role includes (supervisor may do what an operator may, admin everything).
_IMPLIES: dict[Role, frozenset[Role]] = {
    Role.INTEGRATOR: frozenset({Role.INTEGRATOR}),
    Role.OPERATOR: frozenset({Role.OPERATOR}),
    # Supervisors may also search the read archive (contract section 7); investigators may
    # do nothing else.
    Role.SUPERVISOR: frozenset({Role.SUPERVISOR, Role.OPERATOR, Role.INVESTIGATOR}),
    Role.ADMIN: frozenset(Role),
    Role.AUDITOR: frozenset({Role.AUDITOR}),
    Role.MANAGER: frozenset({Role.MANAGER}),
    Role.INVESTIGATOR: frozenset({Role.INVESTIGATOR}),
}


# The name of the `ANPR_ADMIN_TOKEN` admin: the audit log's actor for what it does.
BOOTSTRAP_ADMIN = "bootstrap-admin"


def reserved_token_name(name: str) -> str | None:
    """Why a registry token may not be named `name` (None: it may): the audit log would show
    it as the bootstrap admin, also when it differs only in case or surrounding blanks."""
    if name.strip().casefold() == BOOTSTRAP_ADMIN:
        return f"{BOOTSTRAP_ADMIN!r} is the name of the ANPR_ADMIN_TOKEN admin; choose another"
    return None


def token_name_taken(name: str, taken: Iterable[str]) -> bool:
    """Whether a new token may not be named `name`: a token of the registry has that name,
    also in another case or with blanks around it (the audit log would show two actors as
    one)."""
    wanted = name.strip().casefold()
    return any(other.strip().casefold() == wanted for other in taken)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the role of their token and, for integrators, which integrator.

    `bootstrap`: the token is the operator-chosen `ANPR_ADMIN_TOKEN`, which may be guessable,
    so nothing derived from its hash may be shown (the audit log names it instead)."""

    role: Role
    name: str
    token_hash: str
    integrator_id: str | None = None
    bootstrap: bool = False

    def has(self, role: Role) -> bool:
        return role in _IMPLIES[self.role]


# Issued tokens start with this: a token never begins with "-" (URL-safe base64 may), which a
# command line would take for an option (`anpr simulate --token -x...` failed 1 time in 64), and
# a secret scanner can recognise a leaked one.
TOKEN_PREFIX = "anpr_"  # noqa: S105 - a prefix, not a secret


def new_token() -> str:
    """A new random token of 256 bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(token: str, expected: str) -> bool:
    return hmac.compare_digest(token.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str
    basic_user: str | None = None


def parse_authorization(header: str | None) -> Credentials | None:
    """Bearer token, or HTTP Basic with user = integrator id and password = its token."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "bearer" and rest:
        return Credentials(rest)
    if scheme.lower() == "basic" and rest:
        try:
            decoded = base64.b64decode(rest, validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not ASCII text, not UTF-8
            return None
        user, sep, password = decoded.partition(":")
        if sep and password:
            return Credentials(password, basic_user=user)
    return None
