"""IAM access policies: parse, validate, pre-compile and evaluate; the statements AWS writes.

The subset that queue, topic and bus resource policies and per-key (identity) policies need.
Everything is pure. A parsed :class:`Policy` is immutable (but for a bounded memo of wildcard
answers), so it can be cached and shared between requests and threads; parsing compiles every
wildcard once, and :func:`evaluate` only does set look-ups, pre-built regular expression matches
and pre-built condition closures: about 2-3 µs for a five-statement policy.

Public API (stable)::

    parse_policy(document, *, kind=PolicyKind.RESOURCE) -> Policy   # text or mapping
    cached_policy(text, kind=PolicyKind.RESOURCE) -> Policy         # LRU-cached parse_policy
    AccessRequest(action, resource, *, account=None, principal_arn=None, service=None,
                  context={})
    evaluate(request, *, resource_owner, resource_policy=None, identity_policies=(),
             full_access_without_identity_policy=False) -> Decision
    Decision.ALLOW | Decision.EXPLICIT_DENY | Decision.IMPLICIT_DENY   (.allowed)
    root_arn(account) -> "arn:aws:iam::<account>:root"
    sqs_action(operation) -> "sqs:SendMessage" for "SendMessageBatch", ...
    sqs_add_permission(policy, *, queue_arn, label, account_ids, actions) -> str
    sqs_remove_permission(policy, *, label) -> str | None
    events_put_permission(policy, *, bus_arn, statement_id, principal, action=..., condition=None)
        -> str
    events_remove_permission(policy, *, statement_id=None, remove_all=False) -> str | None

Malformed documents raise :class:`broker.errors.InvalidPolicyDocument` (an
``InvalidParameterValue``) whose ``path`` names the faulty element. The permission builders take
and return the stored ``Policy`` text (``None`` when there is none) and raise the condition each
AWS operation reports: ``InvalidParameterValue``, ``MissingParameter``, ``OverLimit`` or
``ResourceNotFound``.

Evaluation (the standard IAM logic, see docs/access-policies.md):

* An applicable ``Deny`` in any policy wins.
* A request from a principal in the resource owner's account is allowed when an identity policy
  allows it or the resource policy allows that principal directly (``"*"``, its ARN). A
  resource-policy grant to the account itself (its id or root ARN) is a delegation to the
  account and still needs an identity allow, as in AWS.
* A cross-account request needs both: the resource policy allows the principal (directly or
  through its account) and the caller's identity policies allow the action.
* A service principal (``sns.amazonaws.com`` delivering to a queue) or an anonymous caller has no
  identity policies: only the resource policy can allow it.
* ``full_access_without_identity_policy`` says what a principal without any identity policy may
  do: ``False`` (AWS: nothing) or ``True`` (everything its identity could be granted, like an
  account's root user).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from broker.errors import (
    InvalidParameterValue,
    InvalidPolicyDocument,
    MissingParameter,
    OverLimit,
    ResourceNotFound,
)

VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
ContextValue: TypeAlias = str | bool | int | float | Sequence[str]


class PolicyKind(enum.Enum):
    RESOURCE = "resource"  # attached to a queue, topic or bus: names a Principal
    IDENTITY = "identity"  # attached to an access key: no Principal


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


# --- requests -----------------------------------------------------------------------------------


def _context_values(value: ContextValue) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if value is True or value is False:
        return ("true" if value else "false",)
    if isinstance(value, int | float):
        return (str(value),)
    return tuple(value)


@dataclass(slots=True, eq=False)
class AccessRequest:
    """One authorisation question: may this principal do ``action`` on ``resource``?

    ``account`` and ``principal_arn`` identify a caller with credentials; ``service`` a service
    principal (``sns.amazonaws.com``) acting for a topic or rule, with ``aws:SourceArn`` and
    ``aws:SourceAccount`` in ``context``. Context keys are case-insensitive;
    ``aws:PrincipalAccount``, ``aws:PrincipalArn`` and ``aws:PrincipalServiceName`` are filled
    from the identity unless given. With ``service`` set the request is the service's, whatever
    ``account`` says.
    """

    action: str
    resource: str
    _: KW_ONLY
    account: str | None = None
    principal_arn: str | None = None
    service: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    action_key: str = field(init=False, repr=False, compare=False)
    values: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {key.lower(): _context_values(value) for key, value in self.context.items()}
        if self.account is not None:
            values.setdefault("aws:principalaccount", (self.account,))
        if self.principal_arn is not None:
            values.setdefault("aws:principalarn", (self.principal_arn,))
        if self.service is not None:
            values.setdefault("aws:principalservicename", (self.service,))
        self.action_key = self.action.lower()
        self.values = values


def root_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


# --- wildcard patterns --------------------------------------------------------------------------


_REMEMBERED = 256  # wildcard answers kept per pattern set


def _glob(pattern: str, char: str = ".") -> str:
    """A regular expression for a ``*``/``?`` pattern that cannot backtrack catastrophically.

    Between stars, each literal run is matched at its first occurrence inside an atomic group
    (what fnmatch does): the earliest match never loses, and ``*a*a*a*b`` stays linear.
    """
    first, *rest = re.sub(r"\*+", "*", pattern).split("*")

    def run(text: str) -> str:
        return "".join(char if ch == "?" else re.escape(ch) for ch in text)

    if not rest:
        return run(first)
    *middle, last = rest
    return "".join(
        [run(first), *(f"(?>{char}*?{run(part)})" for part in middle), f"{char}*{run(last)}"]
    )


def _arn_glob(pattern: str) -> str:
    # Each colon-separated ARN part matches on its own; the last part of the pattern (the
    # resource, which may itself hold colons) takes the rest of the value.
    *head, last = pattern.split(":", 5)
    return ":".join([*(_glob(part, "[^:]") for part in head), _glob(last)])


@dataclass(frozen=True, slots=True)
class _Patterns:
    """Values or ``*``/``?`` wildcards: exact ones in a set, the rest in one regular expression
    whose answers are remembered (requests repeat the same few actions, ARNs and sources)."""

    anything: bool
    exact: frozenset[str]
    regex: re.Pattern[str] | None
    seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def matches(self, value: str) -> bool:
        if self.anything or value in self.exact:
            return True
        if self.regex is None:
            return False
        known = self.seen.get(value)
        if known is None:
            known = self.regex.fullmatch(value) is not None
            if len(self.seen) < _REMEMBERED:
                self.seen[value] = known
        return known


def _compile(patterns: Iterable[str], *, arn: bool = False, fold: bool = False) -> _Patterns:
    exact: set[str] = set()
    globs: list[str] = []
    anything = False
    for pattern in patterns:
        pattern = pattern.lower() if fold else pattern
        if pattern == "*":
            anything = True
        elif "*" in pattern or "?" in pattern:
            globs.append(_arn_glob(pattern) if arn else _glob(pattern))
        else:
            exact.add(pattern)
    regex = re.compile("|".join(f"(?:{g})" for g in globs), re.DOTALL) if globs else None
    return _Patterns(anything, frozenset(exact), regex)


# --- principals ---------------------------------------------------------------------------------

_ACCOUNT = re.compile(r"\d{12}")
_ROOT = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):root")
_NONE, _VIA_ACCOUNT, _DIRECT = 0, 1, 2  # how strongly a principal matched


@dataclass(frozen=True, slots=True)
class _Principals:
    anyone: bool
    accounts: frozenset[str]
    arns: frozenset[str]
    services: frozenset[str]

    def match(self, request: AccessRequest) -> int:
        if self.anyone:
            return _DIRECT
        if request.service is not None:
            return _DIRECT if request.service.lower() in self.services else _NONE
        if request.principal_arn is not None and request.principal_arn in self.arns:
            return _DIRECT
        if request.account is not None and request.account in self.accounts:
            return _VIA_ACCOUNT
        return _NONE


# --- conditions ---------------------------------------------------------------------------------

_Test = Callable[[str], bool]


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _instant(text: str) -> float | None:
    number = _number(text)
    if number is not None:
        return number  # epoch seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


def _string_equals(values: list[str]) -> _Test:
    accepted = frozenset(values)
    return accepted.__contains__


def _string_equals_ignore_case(values: list[str]) -> _Test:
    accepted = frozenset(v.lower() for v in values)
    return lambda value: value.lower() in accepted


def _string_like(values: list[str]) -> _Test:
    return _compile(values).matches


def _arn_like(values: list[str]) -> _Test:
    return _compile(values, arn=True).matches


def _bool(values: list[str]) -> _Test:
    accepted = frozenset(v.lower() for v in values)
    return lambda value: value.lower() in accepted


_Builder: TypeAlias = Callable[[list[str], str], _Test]


def _ordered(
    parse: Callable[[str], float | None], compare: Callable[[float, float], bool]
) -> _Builder:
    def build(values: list[str], path: str) -> _Test:
        limits: list[float] = []
        for value in values:
            limit = parse(value)
            if limit is None:
                raise InvalidPolicyDocument(f"{value!r} is not a valid value here", path)
            limits.append(limit)

        def test(value: str) -> bool:
            actual = parse(value)
            return actual is not None and any(compare(actual, limit) for limit in limits)

        return test

    return build


def _ip_address(values: list[str], path: str) -> _Test:
    try:
        networks = [ipaddress.ip_network(value, strict=False) for value in values]
    except ValueError as exc:
        raise InvalidPolicyDocument(f"invalid IP address or range: {exc}", path) from None

    def test(value: str) -> bool:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(address in network for network in networks)

    return test


def _simple(build: Callable[[list[str]], _Test]) -> _Builder:
    return lambda values, _path: build(values)


_GT, _LT, _GE, _LE, _EQ = operator.gt, operator.lt, operator.ge, operator.le, operator.eq

# operator (lower case) -> (builder of the positive test, negated)
_OPERATORS: dict[str, tuple[_Builder, bool]] = {
    "stringequals": (_simple(_string_equals), False),
    "stringnotequals": (_simple(_string_equals), True),
    "stringequalsignorecase": (_simple(_string_equals_ignore_case), False),
    "stringnotequalsignorecase": (_simple(_string_equals_ignore_case), True),
    "stringlike": (_simple(_string_like), False),
    "stringnotlike": (_simple(_string_like), True),
    "arnequals": (_simple(_arn_like), False),
    "arnlike": (_simple(_arn_like), False),
    "arnnotequals": (_simple(_arn_like), True),
    "arnnotlike": (_simple(_arn_like), True),
    "bool": (_simple(_bool), False),
    "numericequals": (_ordered(_number, _EQ), False),
    "numericnotequals": (_ordered(_number, _EQ), True),
    "numericlessthan": (_ordered(_number, _LT), False),
    "numericlessthanequals": (_ordered(_number, _LE), False),
    "numericgreaterthan": (_ordered(_number, _GT), False),
    "numericgreaterthanequals": (_ordered(_number, _GE), False),
    "dateequals": (_ordered(_instant, _EQ), False),
    "datenotequals": (_ordered(_instant, _EQ), True),
    "datelessthan": (_ordered(_instant, _LT), False),
    "datelessthanequals": (_ordered(_instant, _LE), False),
    "dategreaterthan": (_ordered(_instant, _GT), False),
    "dategreaterthanequals": (_ordered(_instant, _GE), False),
    "ipaddress": (_ip_address, False),
    "notipaddress": (_ip_address, True),
}


_Context: TypeAlias = Mapping[str, tuple[str, ...]]
_Holds = Callable[[_Context], bool]


def _condition(key: str, test: _Test, negated: bool, if_exists: bool, quantifier: str) -> _Holds:
    """One key under one operator, as a closure specialised for its flavour.

    ``quantifier`` is "" (a single-valued key: any value may match, or for a negated operator
    none may), "any" (ForAnyValue) or "all" (ForAllValues).
    """
    if if_exists or quantifier == "all":
        missing = True
    elif quantifier == "any":
        missing = False
    else:
        missing = negated  # a missing key satisfies only the negated operators

    # On the values present, as combine(test over the values) != flip:
    if quantifier == "all":  # every value matches; negated: none does
        combine, flip = (any, True) if negated else (all, False)
    elif quantifier == "any" and negated:  # some value does not match
        combine, flip = all, True
    else:  # some value matches; negated (single-valued or not): none does
        combine, flip = any, negated

    def holds(context: _Context) -> bool:
        values = context.get(key)
        if not values:
            return missing
        return combine(map(test, values)) is not flip

    return holds


def _null_condition(key: str, absent: bool) -> _Holds:
    return lambda context: (not context.get(key)) is absent


# --- statements and policies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str | None
    deny: bool
    actions: _Patterns
    not_action: bool
    resources: _Patterns
    not_resource: bool
    principals: _Principals | None
    not_principal: bool
    conditions: tuple[_Holds, ...]

    def match(self, request: AccessRequest) -> int:
        """0 when the statement does not apply to ``request``; else how its principal matched
        (1 through the caller's account, 2 directly; an identity statement matches directly).

        Cheapest and most selective first: action, resource, principal, then conditions.
        """
        if self.actions.matches(request.action_key) is self.not_action:
            return _NONE
        if self.resources.matches(request.resource) is self.not_resource:
            return _NONE
        strength = _DIRECT
        if self.principals is not None:
            strength = self.principals.match(request)
            if self.not_principal:
                strength = _NONE if strength else _DIRECT
            if not strength:
                return _NONE
        context = request.values
        for holds in self.conditions:
            if not holds(context):
                return _NONE
        return strength


@dataclass(frozen=True, slots=True)
class Policy:
    kind: PolicyKind
    version: str
    id: str | None
    statements: tuple[Statement, ...]

    @property
    def sids(self) -> tuple[str, ...]:
        return tuple(s.sid for s in self.statements if s.sid is not None)


# --- parsing ------------------------------------------------------------------------------------

_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_ACTION = re.compile(r"\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+")


def _fail(message: str, path: str) -> InvalidPolicyDocument:
    return InvalidPolicyDocument(f"{path}: {message}" if path else message, path)


def _strings(value: Any, path: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail("must not be an empty list", path)
    for item in items:
        if not isinstance(item, str) or not item:
            raise _fail("must be a non-empty string or a list of them", path)
    return items


def _one_of(raw: Mapping[str, Any], name: str, path: str, *, required: bool) -> tuple[Any, bool]:
    plain, negated = raw.get(name), raw.get(f"Not{name}")
    if plain is not None and negated is not None:
        raise _fail(f"has both {name} and Not{name}", path)
    if plain is None and negated is None:
        if required:
            raise _fail(f"needs {name} or Not{name}", path)
        return None, False
    return (negated, True) if plain is None else (plain, False)


def _parse_actions(value: Any, path: str) -> _Patterns:
    actions = _strings(value, path)
    for action in actions:
        if not _ACTION.fullmatch(action):
            raise _fail(f"{action!r} is not an action (service:Action, wildcards * and ?)", path)
    return _compile(actions, fold=True)


def _parse_principals(value: Any, path: str) -> _Principals:
    if value == "*":
        return _Principals(True, frozenset(), frozenset(), frozenset())
    if not isinstance(value, dict) or not value:
        raise _fail('must be "*" or an object such as {"AWS": ...} or {"Service": ...}', path)
    anyone = False
    accounts: set[str] = set()
    arns: set[str] = set()
    services: set[str] = set()
    for kind, entries in value.items():
        where = f"{path}.{kind}"
        names = _strings(entries, where)
        if kind == "AWS":
            for name in names:
                root = _ROOT.fullmatch(name)
                if name == "*":
                    anyone = True
                elif _ACCOUNT.fullmatch(name):
                    accounts.add(name)
                elif root:
                    accounts.add(root.group(1))
                elif name.startswith("arn:"):
                    arns.add(name)
                else:
                    raise _fail(f"{name!r} is not an account id, an ARN or *", where)
        elif kind == "Service":
            for name in names:
                if name == "*":
                    raise _fail('a service principal cannot be "*"', where)
                services.add(name.lower())
        elif kind not in ("Federated", "CanonicalUser"):  # accepted, never matched
            raise _fail(f"unknown principal type {kind!r}", where)
    return _Principals(anyone, frozenset(accounts), frozenset(arns), frozenset(services))


def _condition_strings(value: Any, path: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail("must not be an empty list", path)
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.append(str(item))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise _fail("condition values are strings, numbers, booleans or lists of them", path)
    return out


def _parse_conditions(value: Any, path: str) -> tuple[_Holds, ...]:
    if not isinstance(value, dict):
        raise _fail("must be an object of operators", path)
    conditions: list[_Holds] = []
    for written, keys in value.items():
        where = f"{path}.{written}"
        if not isinstance(written, str):
            raise _fail("operator names are strings", where)
        if not isinstance(keys, dict) or not keys:
            raise _fail("must be a non-empty object of condition keys", where)
        name = written.lower()
        quantifier = ""
        for prefix, q in (("foranyvalue:", "any"), ("forallvalues:", "all")):
            if name.startswith(prefix):
                name, quantifier = name[len(prefix) :], q
        if_exists = name.endswith("ifexists") and name != "ifexists"
        if if_exists:
            name = name[: -len("ifexists")]
        for key, raw in keys.items():
            at = f"{where}.{key}"
            if not isinstance(key, str) or not key:
                raise _fail("condition keys are non-empty strings", at)
            values = _condition_strings(raw, at)
            if name == "null" and not if_exists and not quantifier:
                flags = {v.lower() for v in values}
                if not flags <= {"true", "false"} or len(flags) != 1:
                    raise _fail('Null takes "true" or "false"', at)
                conditions.append(_null_condition(key.lower(), "true" in flags))
                continue
            entry = _OPERATORS.get(name)
            if entry is None:
                raise _fail(f"unsupported condition operator {written!r}", where)
            build, negated = entry
            if name == "bool" and not {v.lower() for v in values} <= {"true", "false"}:
                raise _fail('Bool takes "true" or "false"', at)
            conditions.append(
                _condition(key.lower(), build(values, at), negated, if_exists, quantifier)
            )
    return tuple(conditions)


def _parse_statement(raw: Any, path: str, kind: PolicyKind) -> Statement:
    if not isinstance(raw, dict):
        raise _fail("a statement must be an object", path)
    unknown = sorted(set(raw) - _STATEMENT_KEYS)
    if unknown:
        raise _fail(f"unknown element {unknown[0]!r}", path)
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _fail("must be a string", f"{path}.Sid")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _fail('must be "Allow" or "Deny"', f"{path}.Effect")
    action, not_action = _one_of(raw, "Action", path, required=True)
    resource, not_resource = _one_of(raw, "Resource", path, required=True)
    principal, not_principal = _one_of(raw, "Principal", path, required=False)
    principals = None
    if kind is PolicyKind.RESOURCE:
        if principal is None:
            raise _fail("a resource policy statement needs Principal or NotPrincipal", path)
        name = "NotPrincipal" if not_principal else "Principal"
        principals = _parse_principals(principal, f"{path}.{name}")
    elif principal is not None:
        raise _fail("an identity policy statement cannot name a Principal", path)
    action_name = "NotAction" if not_action else "Action"
    resource_name = "NotResource" if not_resource else "Resource"
    condition = raw.get("Condition")
    return Statement(
        sid=sid or None,
        deny=effect == "Deny",
        actions=_parse_actions(action, f"{path}.{action_name}"),
        not_action=not_action,
        resources=_compile(_strings(resource, f"{path}.{resource_name}"), arn=True),
        not_resource=not_resource,
        principals=principals,
        not_principal=not_principal,
        conditions=() if condition is None else _parse_conditions(condition, f"{path}.Condition"),
    )


def parse_policy(
    document: str | Mapping[str, Any], *, kind: PolicyKind = PolicyKind.RESOURCE
) -> Policy:
    """Validate and compile a policy document given as JSON text or an already decoded mapping."""
    if isinstance(document, str):
        try:
            raw: Any = json.loads(document)
        except ValueError as exc:
            raise InvalidPolicyDocument(f"the policy is not valid JSON: {exc}") from None
    else:
        raw = document
    if not isinstance(raw, Mapping):
        raise InvalidPolicyDocument("the policy must be a JSON object")
    unknown = sorted(set(raw) - {"Version", "Id", "Statement"})
    if unknown:
        raise _fail(f"unknown element {unknown[0]!r}", "")
    version = raw.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise _fail(f"unsupported Version {version!r} (2012-10-17 or 2008-10-17)", "Version")
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _fail("must be a string", "Id")
    body = raw.get("Statement")
    if body is None:
        raise _fail("the policy has no Statement", "Statement")
    items = body if isinstance(body, list) else [body]
    if not items:
        raise _fail("must hold at least one statement", "Statement")
    several = isinstance(body, list)
    statements = tuple(
        _parse_statement(item, f"Statement[{n}]" if several else "Statement", kind)
        for n, item in enumerate(items)
    )
    seen: set[str] = set()
    for statement in statements:
        if statement.sid is not None:
            if statement.sid in seen:
                raise _fail(f"duplicate Sid {statement.sid!r}", "Statement")
            seen.add(statement.sid)
    return Policy(kind, version, policy_id, statements)


@functools.lru_cache(maxsize=4096)
def cached_policy(text: str, kind: PolicyKind = PolicyKind.RESOURCE) -> Policy:
    """:func:`parse_policy` of stored text, remembered: policies change far less than requests."""
    return parse_policy(text, kind=kind)


# --- evaluation ---------------------------------------------------------------------------------


def evaluate(
    request: AccessRequest,
    *,
    resource_owner: str,
    resource_policy: Policy | None = None,
    identity_policies: Sequence[Policy] = (),
    full_access_without_identity_policy: bool = False,
) -> Decision:
    """The decision for ``request`` on a resource of account ``resource_owner``.

    ``identity_policies`` are the caller's (its access key's); they are ignored for service and
    anonymous callers, which only a resource policy can allow.
    """
    identified = request.service is None and request.account is not None
    identity_allows = False
    if identified:
        if identity_policies:
            for policy in identity_policies:
                for statement in policy.statements:
                    if statement.match(request):
                        if statement.deny:
                            return Decision.EXPLICIT_DENY
                        identity_allows = True
        else:
            identity_allows = full_access_without_identity_policy
    grant = _NONE
    if resource_policy is not None:
        for statement in resource_policy.statements:
            strength = statement.match(request)
            if strength:
                if statement.deny:
                    return Decision.EXPLICIT_DENY
                if strength > grant:
                    grant = strength
    if not identified:
        allowed = grant == _DIRECT
    elif request.account == resource_owner:
        allowed = identity_allows or grant == _DIRECT
    else:
        allowed = identity_allows and grant != _NONE
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


# --- the statements SQS and EventBridge write ---------------------------------------------------

# SQS: the actions AddPermission may share (the others belong to the queue owner alone).
SQS_SHAREABLE_ACTIONS = frozenset(
    {
        "*",
        "SendMessage",
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
    }
)
SQS_MAX_ACTIONS = 7
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,80}")
_STATEMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A batch operation is authorised as its single-message action.
_SQS_BATCHES = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def sqs_action(operation: str) -> str:
    """The IAM action an SQS operation needs: ``SendMessageBatch`` -> ``sqs:SendMessage``."""
    return f"sqs:{_SQS_BATCHES.get(operation, operation)}"


def _one_or_many(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _load(policy: str | None) -> dict[str, Any] | None:
    if policy is None or not policy.strip():
        return None
    parse_policy(policy)  # a stored policy was valid; this catches a caller passing junk
    loaded: dict[str, Any] = json.loads(policy)
    statement = loaded["Statement"]
    loaded["Statement"] = statement if isinstance(statement, list) else [statement]
    return loaded


def _dump(document: dict[str, Any]) -> str:
    text = json.dumps(document, separators=(",", ":"))
    parse_policy(text)  # never hand back a document we would refuse
    return text


def sqs_add_permission(
    policy: str | None,
    *,
    queue_arn: str,
    label: str,
    account_ids: Sequence[str],
    actions: Sequence[str],
) -> str:
    """The queue's ``Policy`` after AddPermission: a statement ``Sid=label`` allowing
    ``SQS:<action>`` on the queue to each account's root, appended to the existing document (or
    to a new ``{"Version": "2008-10-17", "Id": "<queue arn>/SQSDefaultPolicy"}``).
    """
    if not label:
        raise MissingParameter("The request must contain the parameter Label.")
    if not account_ids:
        raise InvalidParameterValue(
            "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify."
        )
    if not actions:
        raise MissingParameter("The request must contain the parameter Actions.")
    if not _LABEL.fullmatch(label):
        raise InvalidParameterValue(
            f"Value {label} for parameter Label is invalid. Reason: Must match "
            "^[a-zA-Z0-9_-]{1,80}$."
        )
    for account in account_ids:
        if not _ACCOUNT.fullmatch(account):
            raise InvalidParameterValue(
                f"Value [{account}] for parameter PrincipalId is invalid. Reason: Unable to verify."
            )
    if len(actions) > SQS_MAX_ACTIONS:
        raise OverLimit(f"{len(actions)} Actions were found, maximum allowed is {SQS_MAX_ACTIONS}.")
    for action in actions:
        if action not in SQS_SHAREABLE_ACTIONS:
            raise InvalidParameterValue(
                f"Value SQS:{action} for parameter ActionName is invalid. Reason: Only the queue "
                "owner is allowed to invoke this action."
            )
    document = _load(policy) or {
        "Version": "2008-10-17",
        "Id": f"{queue_arn}/SQSDefaultPolicy",
        "Statement": [],
    }
    if any(s.get("Sid") == label for s in document["Statement"]):
        raise InvalidParameterValue(
            f"Value {label} for parameter Label is invalid. Reason: Already exists."
        )
    document["Statement"].append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many([root_arn(a) for a in account_ids])},
            "Action": _one_or_many([f"SQS:{a}" for a in actions]),
            "Resource": queue_arn,
        }
    )
    return _dump(document)


def sqs_remove_permission(policy: str | None, *, label: str) -> str | None:
    """The queue's ``Policy`` after RemovePermission of ``label``; None when no statement is left
    (the queue then has no ``Policy`` attribute)."""
    if not label:
        raise MissingParameter("The request must contain the parameter Label.")
    document = _load(policy)
    kept = [s for s in document["Statement"] if s.get("Sid") != label] if document else []
    if document is None or len(kept) == len(document["Statement"]):
        raise InvalidParameterValue(
            f"Value {label} for parameter Label is invalid. Reason: can't find label."
        )
    if not kept:
        return None
    document["Statement"] = kept
    return _dump(document)


def events_put_permission(
    policy: str | None,
    *,
    bus_arn: str,
    statement_id: str,
    principal: str,
    action: str = "events:PutEvents",
    condition: Mapping[str, str] | None = None,
) -> str:
    """The bus policy after PutPermission: ``Sid=statement_id`` allowing ``events:PutEvents`` on
    the bus to an account's root (or to ``"*"``), replacing a statement with that id.

    ``condition`` is PutPermission's ``{"Type": "StringEquals", "Key": "aws:PrincipalOrgID",
    "Value": "o-..."}``; it is stored as AWS stores it, and since callers carry no organisation
    (no ``aws:PrincipalOrgID`` in the request context) such a statement matches nobody.
    """
    if not statement_id or not _STATEMENT_ID.fullmatch(statement_id):
        raise InvalidParameterValue("StatementId must match ^[a-zA-Z0-9-_]{1,64}$")
    if principal != "*" and not _ACCOUNT.fullmatch(principal):
        raise InvalidParameterValue("Principal must match ^(\\d{12}|\\*)$")
    if action != "events:PutEvents":
        raise InvalidParameterValue("Provided value in parameter 'action' is not supported.")
    statement: dict[str, Any] = {
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": root_arn(principal)},
        "Action": action,
        "Resource": bus_arn,
    }
    if condition is not None:
        kind, key, value = condition.get("Type"), condition.get("Key"), condition.get("Value")
        if kind != "StringEquals" or key != "aws:PrincipalOrgID" or not value:
            raise InvalidParameterValue(
                'Condition must be {"Type": "StringEquals", "Key": "aws:PrincipalOrgID", '
                '"Value": "<organization id>"}.'
            )
        statement["Condition"] = {kind: {key: value}}
    document = _load(policy) or {"Version": "2012-10-17", "Statement": []}
    statements = document["Statement"]
    for n, existing in enumerate(statements):
        if existing.get("Sid") == statement_id:
            statements[n] = statement  # PutPermission replaces a statement it finds
            break
    else:
        statements.append(statement)
    return _dump(document)


def events_remove_permission(
    policy: str | None, *, statement_id: str | None = None, remove_all: bool = False
) -> str | None:
    """The bus policy after RemovePermission (one ``statement_id`` or ``remove_all``); None when
    no statement is left."""
    if remove_all:
        return None
    if not statement_id:
        raise MissingParameter("Either StatementId or RemoveAllPermissions must be given.")
    document = _load(policy)
    if document is None:
        raise ResourceNotFound("EventBus does not have a policy.")
    kept = [s for s in document["Statement"] if s.get("Sid") != statement_id]
    if len(kept) == len(document["Statement"]):
        raise ResourceNotFound("Statement with the provided id does not exist.")
    if not kept:
        return None
    document["Statement"] = kept
    return _dump(document)
