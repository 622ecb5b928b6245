"""Authorisation: the one entry point every handler calls before it touches a resource.

``authorize`` answers "may this caller do this action on this resource?" from the resource's
owner, its resource policy (a queue's ``Policy``, a topic's ``Policy``, a bus policy) and the
caller's key policy, with the IAM evaluator of ``access_policies``. A key without a policy acts as
its account's root user: everything in its own account, and elsewhere what a resource policy
grants its account. ``service_may`` answers the same question for a service principal (SNS
delivering to a queue), which only a resource policy can allow.
"""

from __future__ import annotations

import logging

from broker.core.access_policies import (
    AccessRequest,
    Policy,
    PolicyKind,
    cached_policy,
    evaluate,
    root_arn,
)
from broker.core.models import Caller
from broker.errors import AccessDenied, InvalidPolicyDocument

log = logging.getLogger(__name__)


def _policy(text: str | None, kind: PolicyKind = PolicyKind.RESOURCE) -> Policy | None:
    if not text:
        return None
    try:
        return cached_policy(text, kind)
    except InvalidPolicyDocument:
        # Stored before validation existed: it grants nothing (and denies nothing).
        log.warning("ignoring an invalid stored %s policy", kind.value)
        return None


def allowed(
    caller: Caller, action: str, resource_arn: str, owner: str, resource_policy: str | None
) -> bool:
    if caller.account_id == owner and caller.key_policy is None:
        return True  # the common case, without building a request
    identity = _key_policy(caller)
    request = AccessRequest(
        action,
        resource_arn,
        account=caller.account_id,
        principal_arn=root_arn(caller.account_id),
    )
    decision = evaluate(
        request,
        resource_owner=owner,
        resource_policy=_policy(resource_policy),
        identity_policies=identity,
        full_access_without_identity_policy=caller.key_policy is None,
    )
    return decision.allowed


def _key_policy(caller: Caller) -> tuple[Policy, ...]:
    """The key's policy; one that no longer parses allows nothing (fail closed)."""
    if caller.key_policy is None:
        return ()
    try:
        return (cached_policy(caller.key_policy, PolicyKind.IDENTITY),)
    except InvalidPolicyDocument:
        log.warning("the key policy of %s is invalid: the key may do nothing", caller.access_key_id)
        return ()


def authorize(
    caller: Caller, action: str, resource_arn: str, owner: str, resource_policy: str | None
) -> None:
    """Raise ``AccessDenied`` unless ``caller`` may do ``action`` on the resource."""
    if not allowed(caller, action, resource_arn, owner, resource_policy):
        raise AccessDenied(
            f"User: {root_arn(caller.account_id)} is not authorized to perform: {action} on "
            f"resource: {resource_arn}"
        )


def authorize_key(caller: Caller, action: str, resource_arn: str) -> None:
    """Raise ``AccessDenied`` when the caller's key policy does not allow ``action`` on
    ``resource_arn`` (checked for every operation; a key without a policy passes)."""
    if caller.key_policy is None:
        return
    request = AccessRequest(
        action, resource_arn, account=caller.account_id, principal_arn=root_arn(caller.account_id)
    )
    decision = evaluate(
        request, resource_owner=caller.account_id, identity_policies=_key_policy(caller)
    )
    if not decision.allowed:
        raise AccessDenied(
            f"User: {root_arn(caller.account_id)} is not authorized to perform: {action} on "
            f"resource: {resource_arn} because no identity-based policy allows the {action} action"
        )


def account_may(
    account_id: str, action: str, resource_arn: str, owner: str, resource_policy: str | None
) -> bool:
    """Whether an account acting as itself (a rule of that account forwarding to another
    account's bus) may do ``action`` on the resource: its own, or a resource policy's grant."""
    return allowed(Caller(account_id=account_id), action, resource_arn, owner, resource_policy)


def service_may(
    service: str,
    action: str,
    resource_arn: str,
    owner: str,
    resource_policy: str | None,
    source_arn: str,
    source_account: str,
) -> bool:
    """Whether a service principal acting for ``source_arn`` may do ``action`` on the resource."""
    request = AccessRequest(
        action,
        resource_arn,
        service=service,
        context={"aws:SourceArn": source_arn, "aws:SourceAccount": source_account},
    )
    decision = evaluate(request, resource_owner=owner, resource_policy=_policy(resource_policy))
    return decision.allowed
