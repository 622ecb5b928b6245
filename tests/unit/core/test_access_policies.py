"""IAM access policies: validation, every element, operator and wildcard, the decision logic,
and the statements SQS AddPermission and EventBridge PutPermission write."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.core.access_policies import (
    AccessRequest,
    Decision,
    Policy,
    PolicyKind,
    cached_policy,
    evaluate,
    events_put_permission,
    events_remove_permission,
    parse_policy,
    root_arn,
    sqs_action,
    sqs_add_permission,
    sqs_remove_permission,
)
from broker.errors import (
    InvalidParameterValue,
    InvalidPolicyDocument,
    MissingParameter,
    OverLimit,
    ResourceNotFound,
)

OWNER = "111111111111"
OTHER = "222222222222"
THIRD = "333333333333"
QUEUE = f"arn:aws:sqs:us-east-1:{OWNER}:orders"
OTHER_QUEUE = f"arn:aws:sqs:us-east-1:{OWNER}:payments"
TOPIC = f"arn:aws:sns:us-east-1:{OWNER}:order-events"
RULE = f"arn:aws:events:us-east-1:{OWNER}:rule/order-rule"
BUS = f"arn:aws:events:us-east-1:{OWNER}:event-bus/default"
BOB = f"arn:aws:iam::{OTHER}:user/bob"


def statement(**elements: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    base.update(elements)
    return {key: value for key, value in base.items() if value is not None}


def resource_policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def identity_policy(*statements: dict[str, Any]) -> Policy:
    cleaned = [{k: v for k, v in s.items() if k != "Principal"} for s in statements]
    return parse_policy({"Version": "2012-10-17", "Statement": cleaned}, kind=PolicyKind.IDENTITY)


def caller(
    account: str = OTHER,
    *,
    action: str = "sqs:SendMessage",
    resource: str = QUEUE,
    arn: str | None = None,
    **context: Any,
) -> AccessRequest:
    return AccessRequest(
        action,
        resource,
        account=account,
        principal_arn=arn or root_arn(account),
        context={key.replace("__", ":"): value for key, value in context.items()},
    )


def decide(
    request: AccessRequest,
    policy: Policy | None,
    identity: tuple[Policy, ...] = (),
    *,
    full_access: bool = True,
) -> Decision:
    return evaluate(
        request,
        resource_owner=OWNER,
        resource_policy=policy,
        identity_policies=identity,
        full_access_without_identity_policy=full_access,
    )


def allows(statement_: dict[str, Any], request: AccessRequest) -> bool:
    """Does this one resource-policy statement grant the cross-account request?"""
    return decide(request, resource_policy(statement_)).allowed


# --- validation ---------------------------------------------------------------------------------

MALFORMED: list[tuple[Any, str]] = [
    ("{not json", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ({"Version": "2012-10-17"}, "no Statement"),
    ({"Statement": []}, "at least one statement"),
    ({"Version": "2020-01-01", "Statement": [statement()]}, "unsupported Version"),
    ({"Statement": [statement()], "Extra": 1}, "unknown element 'Extra'"),
    ({"Id": 5, "Statement": [statement()]}, "Id: must be a string"),
    ({"Statement": ["text"]}, "a statement must be an object"),
    ({"Statement": [statement(Effect="allow")]}, 'Statement[0].Effect: must be "Allow" or "Deny"'),
    ({"Statement": [statement(Effect=None)]}, "Effect"),
    ({"Statement": [statement(Action=None)]}, "needs Action or NotAction"),
    ({"Statement": [statement(NotAction="sqs:*")]}, "both Action and NotAction"),
    ({"Statement": [statement(Resource=None)]}, "needs Resource or NotResource"),
    ({"Statement": [statement(NotResource=QUEUE)]}, "both Resource and NotResource"),
    ({"Statement": [statement(Principal=None)]}, "needs Principal or NotPrincipal"),
    ({"Statement": [statement(NotPrincipal="*")]}, "both Principal and NotPrincipal"),
    ({"Statement": [statement(Action="SendMessage")]}, "is not an action"),
    ({"Statement": [statement(Action=[])]}, "must not be an empty list"),
    ({"Statement": [statement(Action=["sqs:SendMessage", 3])]}, "non-empty string"),
    ({"Statement": [statement(Resource="")]}, "non-empty string"),
    ({"Statement": [statement(Principal="someone")]}, 'must be "*" or an object'),
    ({"Statement": [statement(Principal={})]}, 'must be "*" or an object'),
    ({"Statement": [statement(Principal={"AWS": "bob"})]}, "not an account id, an ARN or *"),
    ({"Statement": [statement(Principal={"Group": "x"})]}, "unknown principal type 'Group'"),
    ({"Statement": [statement(Principal={"Service": "*"})]}, "cannot be"),
    ({"Statement": [statement(Sid=7)]}, "Sid: must be a string"),
    ({"Statement": [statement(Sid="a"), statement(Sid="a")]}, "duplicate Sid 'a'"),
    ({"Statement": [statement(Condition=[])]}, "must be an object of operators"),
    ({"Statement": [statement(Condition={"StringEquals": {}})]}, "non-empty object"),
    (
        {"Statement": [statement(Condition={"StringMatches": {"aws:SourceArn": "x"}})]},
        "unsupported condition operator 'StringMatches'",
    ),
    (
        {"Statement": [statement(Condition={"StringEquals": {"aws:SourceArn": []}})]},
        "must not be an empty list",
    ),
    (
        {"Statement": [statement(Condition={"StringEquals": {"aws:SourceArn": {"a": 1}}})]},
        "condition values are strings",
    ),
    (
        {"Statement": [statement(Condition={"NumericLessThan": {"sqs:Size": "ten"}})]},
        "'ten' is not a valid value",
    ),
    (
        {"Statement": [statement(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}})]},
        "'soon' is not a valid value",
    ),
    (
        {"Statement": [statement(Condition={"Bool": {"aws:SecureTransport": "yes"}})]},
        'Bool takes "true" or "false"',
    ),
    (
        {"Statement": [statement(Condition={"Null": {"aws:SourceArn": "maybe"}})]},
        'Null takes "true" or "false"',
    ),
    (
        {"Statement": [statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}})]},
        "invalid IP address",
    ),
    (
        {"Statement": [statement(Condition={"BinaryEquals": {"k": "AAAA"}})]},
        "unsupported condition operator 'BinaryEquals'",
    ),
]


@pytest.mark.parametrize(("document", "message"), MALFORMED)
def test_malformed_documents_are_refused_with_the_fault_named(document: Any, message: str) -> None:
    with pytest.raises(InvalidPolicyDocument) as raised:
        parse_policy(document)
    assert message in raised.value.message
    assert isinstance(raised.value, InvalidParameterValue)


def test_the_path_locates_the_fault() -> None:
    with pytest.raises(InvalidPolicyDocument) as raised:
        parse_policy({"Statement": [statement(), statement(Condition={"Bool": {"k": "x"}})]})
    assert raised.value.path == "Statement[1].Condition.Bool.k"


def test_an_identity_policy_cannot_name_a_principal() -> None:
    with pytest.raises(InvalidPolicyDocument, match="cannot name a Principal"):
        parse_policy({"Statement": statement()}, kind=PolicyKind.IDENTITY)


def test_a_single_statement_object_and_json_text_are_accepted() -> None:
    text = json.dumps({"Id": "p1", "Statement": statement(Sid="only")})
    policy = parse_policy(text)
    assert policy.id == "p1"
    assert policy.version == "2008-10-17"  # AWS's default when Version is left out
    assert policy.sids == ("only",)


def test_federated_and_canonical_user_principals_are_accepted_but_never_match() -> None:
    policy = resource_policy(statement(Principal={"Federated": "cognito", "CanonicalUser": "ab"}))
    assert decide(caller(), policy) is Decision.IMPLICIT_DENY


def test_cached_policy_parses_a_text_once() -> None:
    text = json.dumps({"Statement": statement(Sid="cached")})
    assert cached_policy(text) is cached_policy(text)
    assert cached_policy(text, PolicyKind.RESOURCE).sids == ("cached",)


# --- actions, resources, principals -------------------------------------------------------------

ACTIONS = [
    ("*", "sqs:SendMessage", True),
    ("sqs:*", "sqs:SendMessage", True),
    ("sqs:*", "sns:Publish", False),
    ("SQS:SendMessage", "sqs:sendmessage", True),  # case-insensitive both ways
    ("sqs:Send*", "sqs:SendMessage", True),
    ("sqs:Send*", "sqs:ReceiveMessage", False),
    ("sqs:*Message", "sqs:DeleteMessage", True),
    ("sqs:?eceiveMessage", "sqs:ReceiveMessage", True),
    ("sqs:?eceiveMessage", "sqs:XXReceiveMessage", False),
    ("sqs:SendMessage", "sqs:SendMessageBatch", False),
    ("s*:Publish", "sns:Publish", True),
    ("events:PutEvents", "events:PutEvents", True),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTIONS)
def test_action_wildcards_and_case(pattern: str, action: str, expected: bool) -> None:
    assert allows(statement(Action=pattern), caller(action=action)) is expected


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTIONS)
def test_not_action_is_the_complement(pattern: str, action: str, expected: bool) -> None:
    grant = statement(Action=None, NotAction=pattern)
    assert allows(grant, caller(action=action)) is not expected


RESOURCES = [
    ("*", QUEUE, True),
    (QUEUE, QUEUE, True),
    (QUEUE, OTHER_QUEUE, False),
    (QUEUE.upper(), QUEUE, False),  # ARNs are case-sensitive
    (f"arn:aws:sqs:*:{OWNER}:*", QUEUE, True),
    (f"arn:aws:sqs:*:{OWNER}:*", f"arn:aws:sqs:us-east-1:{OTHER}:orders", False),
    ("arn:aws:sqs:us-east-1:*:ord*", QUEUE, True),
    ("arn:aws:sqs:us-east-1:*:ord*", OTHER_QUEUE, False),
    (f"arn:aws:sqs:us-east-?:{OWNER}:orders", QUEUE, True),
    # a wildcard stays inside its ARN part: "*" in the region cannot swallow the account
    ("arn:aws:sqs:*:orders", QUEUE, False),
    (f"arn:aws:sqs:us-east-1:{OWNER}:orders.fifo", QUEUE, False),
    ("arn:aws:events:*:*:event-bus/*", BUS, True),
    (["arn:aws:sqs:*:*:nothing", QUEUE], QUEUE, True),
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), RESOURCES)
def test_resource_wildcards(pattern: Any, resource: str, expected: bool) -> None:
    assert allows(statement(Resource=pattern), caller(resource=resource)) is expected


@pytest.mark.parametrize(("pattern", "resource", "expected"), RESOURCES)
def test_not_resource_is_the_complement(pattern: Any, resource: str, expected: bool) -> None:
    grant = statement(Resource=None, NotResource=pattern)
    assert allows(grant, caller(resource=resource)) is not expected


PRINCIPALS = [
    ("*", caller(), True),
    ({"AWS": "*"}, caller(), True),
    ({"AWS": OTHER}, caller(), True),
    ({"AWS": root_arn(OTHER)}, caller(), True),
    ({"AWS": root_arn(OTHER)}, caller(arn=BOB), True),  # the account covers its users
    ({"AWS": [THIRD, OTHER]}, caller(), True),
    ({"AWS": THIRD}, caller(), False),
    ({"AWS": BOB}, caller(arn=BOB), True),
    ({"AWS": BOB}, caller(), False),  # a user grant does not cover the account's root
    ({"AWS": f"arn:aws:iam::{OTHER}:user/alice"}, caller(arn=BOB), False),
    ({"Service": "sns.amazonaws.com"}, caller(), False),
]


@pytest.mark.parametrize(("principal", "request_", "expected"), PRINCIPALS)
def test_principals(principal: Any, request_: AccessRequest, expected: bool) -> None:
    assert allows(statement(Principal=principal), request_) is expected


@pytest.mark.parametrize(("principal", "request_", "expected"), PRINCIPALS)
def test_not_principal_denies_everyone_else(
    principal: Any, request_: AccessRequest, expected: bool
) -> None:
    policy = resource_policy(
        statement(Sid="open"),
        statement(Sid="fence", Effect="Deny", Principal=None, NotPrincipal=principal),
    )
    denied = decide(request_, policy) is Decision.EXPLICIT_DENY
    assert denied is not expected


def service_delivery(service: str, source_arn: str, **context: Any) -> AccessRequest:
    return AccessRequest(
        "sqs:SendMessage",
        QUEUE,
        service=service,
        context={"aws:SourceArn": source_arn, "aws:SourceAccount": OWNER, **context},
    )


@pytest.mark.parametrize(
    ("principal", "service", "expected"),
    [
        ({"Service": "sns.amazonaws.com"}, "sns.amazonaws.com", True),
        ({"Service": ["events.amazonaws.com", "SNS.amazonaws.com"]}, "sns.amazonaws.com", True),
        ({"Service": "events.amazonaws.com"}, "sns.amazonaws.com", False),
        ("*", "sns.amazonaws.com", True),
        ({"AWS": "*"}, "sns.amazonaws.com", True),
        ({"AWS": OWNER}, "sns.amazonaws.com", False),  # an account is not a service
    ],
)
def test_service_principals(principal: Any, service: str, expected: bool) -> None:
    policy = resource_policy(statement(Principal=principal))
    assert decide(service_delivery(service, TOPIC), policy).allowed is expected


# --- conditions ---------------------------------------------------------------------------------

CONDITIONS: list[tuple[str, Any, dict[str, Any], bool]] = [
    # operator, policy value, request context, matches
    ("StringEquals", "a", {"k": "a"}, True),
    ("StringEquals", "a", {"k": "A"}, False),
    ("StringEquals", ["x", "a"], {"k": "a"}, True),  # OR within a key
    ("StringEquals", "a", {}, False),  # a missing key never matches a positive operator
    ("StringNotEquals", "a", {"k": "b"}, True),
    ("StringNotEquals", ["a", "b"], {"k": "b"}, False),  # NOR over the values
    ("StringNotEquals", "a", {}, True),  # ... and always matches a negated one
    ("StringEqualsIgnoreCase", "Hello", {"k": "hELLO"}, True),
    ("StringNotEqualsIgnoreCase", "Hello", {"k": "hELLO"}, False),
    ("StringLike", "ord*", {"k": "orders"}, True),
    ("StringLike", "ord?rs", {"k": "orders"}, True),
    ("StringLike", "ord?", {"k": "orders"}, False),
    ("StringLike", "*", {"k": ""}, True),
    ("StringLike", "a.b", {"k": "axb"}, False),  # only * and ? are special
    ("StringNotLike", "ord*", {"k": "payments"}, True),
    ("StringNotLike", "ord*", {"k": "orders"}, False),
    ("ArnEquals", TOPIC, {"k": TOPIC}, True),
    ("ArnEquals", f"arn:aws:sns:*:{OWNER}:*", {"k": TOPIC}, True),  # wildcards work in both
    ("ArnLike", f"arn:aws:sns:*:{OWNER}:order-*", {"k": TOPIC}, True),
    ("ArnLike", f"arn:aws:sns:*:{OTHER}:*", {"k": TOPIC}, False),
    ("ArnLike", "arn:aws:sns:*", {"k": TOPIC}, True),
    ("ArnNotEquals", TOPIC, {"k": TOPIC}, False),
    ("ArnNotLike", "arn:aws:sns:*:*:other", {"k": TOPIC}, True),
    ("Bool", "true", {"k": True}, True),
    ("Bool", "true", {"k": False}, False),
    ("Bool", True, {"k": "TRUE"}, True),
    ("Bool", "false", {}, False),
    ("NumericEquals", "10", {"k": 10}, True),
    ("NumericEquals", 10, {"k": "10.0"}, True),
    ("NumericNotEquals", "10", {"k": "11"}, True),
    ("NumericLessThan", "10", {"k": 9}, True),
    ("NumericLessThan", "10", {"k": 10}, False),
    ("NumericLessThanEquals", "10", {"k": 10}, True),
    ("NumericGreaterThan", "10", {"k": 11}, True),
    ("NumericGreaterThan", "10", {"k": "eleven"}, False),  # not a number: no match
    ("NumericGreaterThanEquals", "10", {"k": 10}, True),
    ("DateLessThan", "2030-01-01T00:00:00Z", {"k": "2026-11-26T12:00:00Z"}, True),
    ("DateGreaterThan", "2030-01-01T00:00:00Z", {"k": "2026-11-26T12:00:00Z"}, False),
    ("DateEquals", "2026-01-01T00:00:00Z", {"k": "1767225600"}, True),  # epoch seconds too
    ("DateNotEquals", "2026-01-01T00:00:00Z", {"k": "2026-01-01T00:00:01Z"}, True),
    ("DateLessThanEquals", "2026-01-01T00:00:00+00:00", {"k": "2026-01-01T00:00:00Z"}, True),
    ("DateGreaterThanEquals", "1767225600", {"k": "2026-01-01T00:00:00Z"}, True),
    ("IpAddress", "10.0.0.0/8", {"k": "10.1.2.3"}, True),
    ("IpAddress", ["192.168.0.0/16", "10.0.0.0/8"], {"k": "172.16.0.1"}, False),
    ("IpAddress", "2001:db8::/32", {"k": "2001:db8::1"}, True),
    ("IpAddress", "10.0.0.0/8", {"k": "not-an-ip"}, False),
    ("NotIpAddress", "10.0.0.0/8", {"k": "192.168.1.1"}, True),
    # ...IfExists: a missing key matches, a present one is tested
    ("StringEqualsIfExists", "a", {}, True),
    ("StringEqualsIfExists", "a", {"k": "b"}, False),
    ("StringEqualsIfExists", "a", {"k": "a"}, True),
    ("ArnLikeIfExists", "arn:aws:sns:*", {}, True),
    ("StringNotEqualsIfExists", "a", {"k": "a"}, False),
    ("NumericLessThanIfExists", "5", {"k": "6"}, False),
    # Null: "true" wants the key absent, "false" present
    ("Null", "true", {}, True),
    ("Null", "true", {"k": "x"}, False),
    ("Null", "false", {"k": "x"}, True),
    ("Null", False, {}, False),
    # set operators over a multi-valued key
    ("ForAnyValue:StringEquals", "a", {"k": ["b", "a"]}, True),
    ("ForAnyValue:StringEquals", "a", {"k": ["b", "c"]}, False),
    ("ForAnyValue:StringEquals", "a", {}, False),
    ("ForAllValues:StringEquals", ["a", "b"], {"k": ["b", "a"]}, True),
    ("ForAllValues:StringEquals", ["a", "b"], {"k": ["b", "c"]}, False),
    ("ForAllValues:StringEquals", "a", {}, True),
    ("ForAnyValue:StringNotEquals", "a", {"k": ["a", "b"]}, True),
    ("ForAllValues:StringNotEquals", "a", {"k": ["b", "c"]}, True),
    ("ForAllValues:StringLike", "a*", {"k": ["ab", "ac"]}, True),
    ("StringEquals", "a", {"k": ["b", "a"]}, True),  # a plain operator: any value will do
    ("stringequals", "a", {"k": "a"}, True),  # operator names are case-insensitive
]


@pytest.mark.parametrize(("operator", "value", "context", "expected"), CONDITIONS)
def test_condition_operators(
    operator: str, value: Any, context: dict[str, Any], expected: bool
) -> None:
    grant = statement(Condition={operator: {"k": value}})
    request = AccessRequest(
        "sqs:SendMessage", QUEUE, account=OTHER, principal_arn=root_arn(OTHER), context=context
    )
    assert allows(grant, request) is expected


def test_condition_keys_are_case_insensitive() -> None:
    grant = statement(Condition={"ArnEquals": {"AWS:SOURCEARN": TOPIC}})
    assert allows(grant, caller(aws__sourcearn=TOPIC))
    assert not allows(grant, caller(aws__sourcearn=RULE))


def test_keys_are_anded_and_operators_are_anded() -> None:
    grant = statement(
        Condition={
            "StringEquals": {"aws:SourceAccount": OWNER, "aws:PrincipalAccount": OTHER},
            "ArnLike": {"aws:SourceArn": "arn:aws:sns:*"},
        }
    )
    assert allows(grant, caller(aws__SourceAccount=OWNER, aws__SourceArn=TOPIC))
    assert not allows(grant, caller(aws__SourceAccount=OTHER, aws__SourceArn=TOPIC))
    assert not allows(grant, caller(aws__SourceAccount=OWNER, aws__SourceArn=RULE))
    assert not allows(grant, caller(THIRD, aws__SourceAccount=OWNER, aws__SourceArn=TOPIC))


def test_principal_keys_come_from_the_identity() -> None:
    grant = statement(
        Condition={"StringEquals": {"aws:PrincipalAccount": OTHER, "aws:PrincipalArn": BOB}}
    )
    assert allows(grant, caller(arn=BOB))
    assert not allows(grant, caller())


def test_secure_transport_deny() -> None:
    policy = resource_policy(
        statement(Sid="open"),
        statement(
            Sid="tls-only", Effect="Deny", Condition={"Bool": {"aws:SecureTransport": "false"}}
        ),
    )
    assert decide(caller(aws__SecureTransport=True), policy) is Decision.ALLOW
    assert decide(caller(aws__SecureTransport=False), policy) is Decision.EXPLICIT_DENY


def test_a_principal_org_condition_matches_nobody_without_an_organisation() -> None:
    text = events_put_permission(
        None,
        bus_arn=BUS,
        statement_id="org",
        principal="*",
        condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc123"},
    )
    request = caller(action="events:PutEvents", resource=BUS)
    assert decide(request, parse_policy(text)) is Decision.IMPLICIT_DENY


# --- the decision -------------------------------------------------------------------------------

SEND = {"Action": "sqs:SendMessage", "Resource": QUEUE}
RECEIVE = {"Action": "sqs:ReceiveMessage", "Resource": QUEUE}


def test_same_account_with_no_policies_follows_the_parameter() -> None:
    own = caller(OWNER)
    assert decide(own, None, full_access=True) is Decision.ALLOW
    assert decide(own, None, full_access=False) is Decision.IMPLICIT_DENY


def test_same_account_identity_allow_or_resource_allow_suffices() -> None:
    own_user = caller(OWNER, arn=f"arn:aws:iam::{OWNER}:user/carol")
    only_receive = (identity_policy(statement(**RECEIVE)),)
    assert decide(own_user, None, only_receive) is Decision.IMPLICIT_DENY
    assert decide(own_user, None, (identity_policy(statement(**SEND)),)) is Decision.ALLOW
    grant_user = resource_policy(statement(Principal={"AWS": own_user.principal_arn}, **SEND))
    assert decide(own_user, grant_user, only_receive) is Decision.ALLOW


def test_a_same_account_grant_to_the_account_itself_is_a_delegation() -> None:
    own_user = caller(OWNER, arn=f"arn:aws:iam::{OWNER}:user/carol")
    grant_account = resource_policy(statement(Principal={"AWS": OWNER}, **SEND))
    only_receive = (identity_policy(statement(**RECEIVE)),)
    assert decide(own_user, grant_account, only_receive) is Decision.IMPLICIT_DENY
    assert decide(own_user, grant_account, full_access=True) is Decision.ALLOW


def test_cross_account_needs_the_resource_policy() -> None:
    assert decide(caller(), None) is Decision.IMPLICIT_DENY
    grant = resource_policy(statement(Principal={"AWS": OTHER}, **SEND))
    assert decide(caller(), grant) is Decision.ALLOW
    assert decide(caller(action="sqs:ReceiveMessage"), grant) is Decision.IMPLICIT_DENY
    assert decide(caller(THIRD), grant) is Decision.IMPLICIT_DENY


def test_cross_account_also_needs_the_callers_identity_allow() -> None:
    grant = resource_policy(statement(Principal={"AWS": OTHER}, **SEND))
    narrowed = (identity_policy(statement(**RECEIVE)),)
    assert decide(caller(), grant, narrowed) is Decision.IMPLICIT_DENY
    assert decide(caller(), grant, (identity_policy(statement(**SEND)),)) is Decision.ALLOW
    assert decide(caller(), grant, full_access=False) is Decision.IMPLICIT_DENY


def test_an_identity_allow_does_not_reach_into_another_account() -> None:
    everything = (identity_policy(statement()),)
    assert decide(caller(), None, everything) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("where", ["identity", "resource"])
def test_an_explicit_deny_anywhere_wins(where: str) -> None:
    deny = statement(Effect="Deny", **SEND)
    allow_all = resource_policy(statement(Sid="all"), *([deny] if where == "resource" else []))
    identity = (identity_policy(statement(), *([deny] if where == "identity" else [])),)
    assert decide(caller(), allow_all, identity) is Decision.EXPLICIT_DENY
    assert decide(caller(OWNER), allow_all, identity) is Decision.EXPLICIT_DENY
    assert decide(caller(action="sqs:ReceiveMessage"), allow_all, identity) is Decision.ALLOW


def test_a_deny_in_one_of_several_identity_policies_wins() -> None:
    identity = (
        identity_policy(statement()),
        identity_policy(statement(Effect="Deny", Action="sqs:Delete*", Resource="*")),
    )
    assert decide(caller(OWNER), None, identity) is Decision.ALLOW
    deleting = caller(OWNER, action="sqs:DeleteMessage")
    assert decide(deleting, None, identity) is Decision.EXPLICIT_DENY


def test_a_deny_for_another_principal_does_not_apply() -> None:
    policy = resource_policy(
        statement(Sid="all"), statement(Sid="no-third", Effect="Deny", Principal={"AWS": THIRD})
    )
    assert decide(caller(), policy) is Decision.ALLOW
    assert decide(caller(THIRD), policy) is Decision.EXPLICIT_DENY


def test_service_and_anonymous_callers_rely_on_the_resource_policy_alone() -> None:
    delivery = service_delivery("sns.amazonaws.com", TOPIC)
    assert decide(delivery, None) is Decision.IMPLICIT_DENY
    # identity policies are the caller's, and a service has none to consult
    assert decide(delivery, None, (identity_policy(statement()),)) is Decision.IMPLICIT_DENY
    anonymous = AccessRequest("sqs:SendMessage", QUEUE)
    assert decide(anonymous, resource_policy(statement())) is Decision.ALLOW
    assert decide(anonymous, resource_policy(statement(Principal={"AWS": OWNER}))) is (
        Decision.IMPLICIT_DENY
    )


def test_decision_allowed() -> None:
    assert Decision.ALLOW.allowed
    assert not Decision.EXPLICIT_DENY.allowed
    assert not Decision.IMPLICIT_DENY.allowed


# --- the standard delivery policies from the AWS guides -----------------------------------------


def test_sns_topic_to_queue_policy() -> None:
    # What the console writes for a topic subscription: any principal, restricted to the topic.
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Id": f"{QUEUE}/SQSDefaultPolicy",
            "Statement": [
                {
                    "Sid": "topic-subscription",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": QUEUE,
                    "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
                }
            ],
        }
    )
    assert decide(service_delivery("sns.amazonaws.com", TOPIC), policy) is Decision.ALLOW
    other_topic = TOPIC.replace("order-events", "other")
    assert decide(service_delivery("sns.amazonaws.com", other_topic), policy) is (
        Decision.IMPLICIT_DENY
    )
    assert decide(service_delivery("events.amazonaws.com", TOPIC), policy) is (
        Decision.IMPLICIT_DENY
    )
    # the statement names the service, so a person in another account gets nothing from it
    assert decide(caller(aws__SourceArn=TOPIC), policy) is Decision.IMPLICIT_DENY


def test_classic_sns_policy_with_any_principal_and_source_arn() -> None:
    policy = resource_policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "SQS:SendMessage",
            "Resource": QUEUE,
            "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
        }
    )
    assert decide(service_delivery("sns.amazonaws.com", TOPIC), policy) is Decision.ALLOW
    assert decide(caller(), policy) is Decision.IMPLICIT_DENY  # no source ARN


def test_eventbridge_rule_to_queue_policy() -> None:
    policy = resource_policy(
        {
            "Sid": "events-to-queue",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE,
            "Condition": {
                "ArnEquals": {"aws:SourceArn": RULE},
                "StringEquals": {"aws:SourceAccount": OWNER},
            },
        }
    )
    assert decide(service_delivery("events.amazonaws.com", RULE), policy) is Decision.ALLOW
    foreign = AccessRequest(
        "sqs:SendMessage",
        QUEUE,
        service="events.amazonaws.com",
        context={"aws:SourceArn": RULE, "aws:SourceAccount": OTHER},
    )
    assert decide(foreign, policy) is Decision.IMPLICIT_DENY
    receive = AccessRequest(
        "sqs:ReceiveMessage",
        QUEUE,
        service="events.amazonaws.com",
        context={"aws:SourceArn": RULE, "aws:SourceAccount": OWNER},
    )
    assert decide(receive, policy) is Decision.IMPLICIT_DENY


# --- SQS AddPermission / RemovePermission -------------------------------------------------------


def test_add_permission_writes_the_statement_sqs_writes() -> None:
    text = sqs_add_permission(
        None, queue_arn=QUEUE, label="share", account_ids=[OTHER], actions=["SendMessage"]
    )
    assert json.loads(text) == {
        "Version": "2008-10-17",
        "Id": f"{QUEUE}/SQSDefaultPolicy",
        "Statement": [
            {
                "Sid": "share",
                "Effect": "Allow",
                "Principal": {"AWS": root_arn(OTHER)},
                "Action": "SQS:SendMessage",
                "Resource": QUEUE,
            }
        ],
    }
    assert " " not in text  # stored compactly, as SQS returns it
    assert decide(caller(), parse_policy(text)) is Decision.ALLOW
    assert decide(caller(action="sqs:ReceiveMessage"), parse_policy(text)).allowed is False


def test_add_permission_lists_several_accounts_and_actions_and_appends() -> None:
    first = sqs_add_permission(
        None, queue_arn=QUEUE, label="one", account_ids=[OTHER], actions=["SendMessage"]
    )
    text = sqs_add_permission(
        first,
        queue_arn=QUEUE,
        label="two",
        account_ids=[OTHER, THIRD],
        actions=["ReceiveMessage", "DeleteMessage"],
    )
    statements = json.loads(text)["Statement"]
    assert [s["Sid"] for s in statements] == ["one", "two"]
    assert statements[1]["Principal"] == {"AWS": [root_arn(OTHER), root_arn(THIRD)]}
    assert statements[1]["Action"] == ["SQS:ReceiveMessage", "SQS:DeleteMessage"]
    policy = parse_policy(text)
    assert decide(caller(THIRD, action="sqs:DeleteMessage"), policy) is Decision.ALLOW
    assert decide(caller(THIRD, action="sqs:SendMessage"), policy) is Decision.IMPLICIT_DENY


def test_add_permission_keeps_a_policy_set_by_hand() -> None:
    own = json.dumps({"Version": "2012-10-17", "Id": "mine", "Statement": statement(Sid="x")})
    text = sqs_add_permission(
        own, queue_arn=QUEUE, label="share", account_ids=[OTHER], actions=["*"]
    )
    document = json.loads(text)
    assert document["Id"] == "mine" and document["Version"] == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == ["x", "share"]
    assert document["Statement"][1]["Action"] == "SQS:*"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"label": ""}, MissingParameter, "Label"),
        ({"account_ids": []}, InvalidParameterValue, r"Value \[\] for parameter PrincipalId"),
        ({"actions": []}, MissingParameter, "Actions"),
        ({"label": "has space"}, InvalidParameterValue, "parameter Label is invalid"),
        ({"label": "x" * 81}, InvalidParameterValue, "parameter Label is invalid"),
        ({"account_ids": ["12345"]}, InvalidParameterValue, "parameter PrincipalId is invalid"),
        ({"account_ids": ["*"]}, InvalidParameterValue, "PrincipalId"),
        ({"actions": ["CreateQueue"]}, InvalidParameterValue, "Only the queue owner"),
        ({"actions": ["SendMessage"] * 8}, OverLimit, "8 Actions were found, maximum allowed is 7"),
        ({"label": "taken"}, InvalidParameterValue, "Reason: Already exists."),
    ],
)
def test_add_permission_refusals(arguments: dict[str, Any], error: type, message: str) -> None:
    existing = sqs_add_permission(
        None, queue_arn=QUEUE, label="taken", account_ids=[OTHER], actions=["SendMessage"]
    )
    values: dict[str, Any] = {
        "queue_arn": QUEUE,
        "label": "new",
        "account_ids": [OTHER],
        "actions": ["SendMessage"],
    }
    values.update(arguments)
    with pytest.raises(error, match=message):
        sqs_add_permission(existing, **values)


def test_remove_permission_by_label() -> None:
    text = sqs_add_permission(
        None, queue_arn=QUEUE, label="one", account_ids=[OTHER], actions=["SendMessage"]
    )
    text = sqs_add_permission(
        text, queue_arn=QUEUE, label="two", account_ids=[THIRD], actions=["SendMessage"]
    )
    left = sqs_remove_permission(text, label="one")
    assert left is not None
    assert parse_policy(left).sids == ("two",)
    assert decide(caller(), parse_policy(left)) is Decision.IMPLICIT_DENY
    assert sqs_remove_permission(left, label="two") is None  # the attribute goes away
    with pytest.raises(InvalidParameterValue, match=re.escape("Reason: can't find label.")):
        sqs_remove_permission(left, label="one")
    with pytest.raises(InvalidParameterValue, match=re.escape("Reason: can't find label.")):
        sqs_remove_permission(None, label="one")
    with pytest.raises(MissingParameter):
        sqs_remove_permission(left, label="")


def test_sqs_action_maps_batches_to_their_single_action() -> None:
    assert sqs_action("SendMessageBatch") == "sqs:SendMessage"
    assert sqs_action("DeleteMessageBatch") == "sqs:DeleteMessage"
    assert sqs_action("ChangeMessageVisibilityBatch") == "sqs:ChangeMessageVisibility"
    assert sqs_action("ReceiveMessage") == "sqs:ReceiveMessage"


# --- EventBridge PutPermission / RemovePermission -----------------------------------------------


def test_put_permission_for_an_account_and_for_everyone() -> None:
    text = events_put_permission(None, bus_arn=BUS, statement_id="acct", principal=OTHER)
    text = events_put_permission(text, bus_arn=BUS, statement_id="all", principal="*")
    document = json.loads(text)
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "acct",
                "Effect": "Allow",
                "Principal": {"AWS": root_arn(OTHER)},
                "Action": "events:PutEvents",
                "Resource": BUS,
            },
            {
                "Sid": "all",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": BUS,
            },
        ],
    }
    put = caller(THIRD, action="events:PutEvents", resource=BUS)
    assert decide(put, parse_policy(text)) is Decision.ALLOW


def test_put_permission_stores_an_organisation_condition() -> None:
    text = events_put_permission(
        None,
        bus_arn=BUS,
        statement_id="org",
        principal="*",
        condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc123"},
    )
    assert json.loads(text)["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abc123"}
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"statement_id": ""}, "StatementId must match"),
        ({"statement_id": "x" * 65}, "StatementId must match"),
        ({"statement_id": "a b"}, "StatementId must match"),
        ({"principal": "bob"}, "Principal must match"),
        ({"principal": "12345"}, "Principal must match"),
        ({"action": "events:PutRule"}, "Provided value in parameter 'action' is not supported."),
        ({"condition": {"Type": "StringLike"}}, "Condition"),
        ({"condition": {"Type": "StringEquals", "Key": "aws:SourceIp", "Value": "x"}}, "Condition"),
    ],
)
def test_put_permission_refusals(arguments: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"bus_arn": BUS, "statement_id": "new", "principal": OTHER}
    values.update(arguments)
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        events_put_permission(None, **values)


def test_put_permission_replaces_a_statement_with_the_same_id() -> None:
    text = events_put_permission(None, bus_arn=BUS, statement_id="a", principal=OTHER)
    text = events_put_permission(text, bus_arn=BUS, statement_id="b", principal=THIRD)
    text = events_put_permission(text, bus_arn=BUS, statement_id="a", principal="*")
    statements = json.loads(text)["Statement"]
    assert [(s["Sid"], s["Principal"]) for s in statements] == [
        ("a", "*"),
        ("b", {"AWS": root_arn(THIRD)}),
    ]


def test_remove_permission_by_statement_id_and_all() -> None:
    text = events_put_permission(None, bus_arn=BUS, statement_id="a", principal=OTHER)
    text = events_put_permission(text, bus_arn=BUS, statement_id="b", principal=THIRD)
    left = events_remove_permission(text, statement_id="a")
    assert left is not None
    assert parse_policy(left).sids == ("b",)
    assert events_remove_permission(left, statement_id="b") is None
    with pytest.raises(
        ResourceNotFound, match=re.escape("Statement with the provided id does not exist.")
    ):
        events_remove_permission(left, statement_id="a")
    with pytest.raises(ResourceNotFound, match=re.escape("EventBus does not have a policy.")):
        events_remove_permission(None, statement_id="a")
    with pytest.raises(MissingParameter):
        events_remove_permission(text)
    assert events_remove_permission(text, remove_all=True) is None


def test_builders_refuse_a_stored_policy_that_is_not_a_policy() -> None:
    with pytest.raises(InvalidPolicyDocument):
        sqs_remove_permission("{}", label="x")


# --- properties ---------------------------------------------------------------------------------

ACCOUNTS = st.sampled_from([OWNER, OTHER, THIRD])
ACTION_NAMES = st.sampled_from(
    ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "events:PutEvents"]
)
ACTION_PATTERNS = st.sampled_from(["*", "sqs:*", "sqs:Send*", "sqs:*Message", "events:PutEvents"])
RESOURCE_PATTERNS = st.sampled_from(["*", QUEUE, f"arn:aws:sqs:*:{OWNER}:*", BUS, OTHER_QUEUE])
PRINCIPAL_VALUES = st.one_of(
    st.just("*"),
    ACCOUNTS.map(lambda a: {"AWS": a}),
    ACCOUNTS.map(lambda a: {"AWS": root_arn(a)}),
    st.just({"Service": "sns.amazonaws.com"}),
)
STATEMENTS = st.builds(
    lambda effect, principal, action, resource, cond: statement(
        Effect=effect,
        Principal=principal,
        Action=action,
        Resource=resource,
        Condition={"Bool": {"aws:SecureTransport": "true"}} if cond else None,
    ),
    st.sampled_from(["Allow", "Deny"]),
    PRINCIPAL_VALUES,
    ACTION_PATTERNS,
    RESOURCE_PATTERNS,
    st.booleans(),
)
REQUESTS = st.builds(
    lambda account, action, resource, secure: caller(
        account, action=action, resource=resource, aws__SecureTransport=secure
    ),
    ACCOUNTS,
    ACTION_NAMES,
    st.sampled_from([QUEUE, OTHER_QUEUE, BUS]),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(STATEMENTS, min_size=1, max_size=6), REQUESTS, st.booleans())
def test_adding_a_matching_deny_never_allows(
    statements: list[dict[str, Any]], request: AccessRequest, full_access: bool
) -> None:
    before = decide(request, resource_policy(*statements), full_access=full_access)
    deny = statement(Effect="Deny", Action=request.action, Resource=request.resource)
    after = decide(request, resource_policy(*statements, deny), full_access=full_access)
    assert after is Decision.EXPLICIT_DENY
    if before is Decision.EXPLICIT_DENY:
        assert after is before


@settings(max_examples=300, deadline=None)
@given(st.lists(STATEMENTS, min_size=1, max_size=6), STATEMENTS, REQUESTS)
def test_adding_any_statement_never_turns_a_deny_into_an_allow_unless_it_is_an_allow(
    statements: list[dict[str, Any]], extra: dict[str, Any], request: AccessRequest
) -> None:
    before = decide(request, resource_policy(*statements))
    after = decide(request, resource_policy(*statements, extra))
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY
    if extra["Effect"] == "Deny":
        assert not (after.allowed and not before.allowed)
        assert after in (before, Decision.EXPLICIT_DENY)


@settings(max_examples=200, deadline=None)
@given(st.lists(STATEMENTS, min_size=1, max_size=6), REQUESTS)
def test_statement_order_does_not_matter(
    statements: list[dict[str, Any]], request: AccessRequest
) -> None:
    forward = decide(request, resource_policy(*statements))
    backward = decide(request, resource_policy(*reversed(statements)))
    assert forward is backward


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab*?", min_size=1, max_size=6), st.text(alphabet="ab", max_size=6))
def test_string_like_agrees_with_fnmatch(pattern: str, value: str) -> None:
    import fnmatch

    grant = statement(Condition={"StringLike": {"k": pattern}})
    expected = fnmatch.fnmatchcase(value, pattern)
    assert allows(grant, caller(k=value)) is expected


def arn_like_reference(pattern: str, value: str) -> bool:
    """ArnLike by hand: part by part, the pattern's last part taking the rest of the value."""
    import fnmatch

    parts = pattern.split(":", 5)
    pieces = value.split(":", len(parts) - 1)
    if len(pieces) != len(parts):
        return False
    return all(fnmatch.fnmatchcase(piece, part) for piece, part in zip(pieces, parts, strict=True))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", ":", "*", "?"]), min_size=1, max_size=8).map("".join),
    st.lists(st.sampled_from(["a", "b", ":"]), max_size=8).map("".join),
)
def test_arn_like_agrees_with_a_part_by_part_reference(pattern: str, value: str) -> None:
    grant = statement(Condition={"ArnLike": {"k": pattern}})
    assert allows(grant, caller(k=value)) is arn_like_reference(pattern, value)


# One policy across all examples: its remembered wildcard answers must stay right.
SHARED = resource_policy(statement(Resource="arn:aws:sqs:*:*:a*b?", Action="sqs:?e*"))


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab", max_size=5),
    st.sampled_from(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:GetQueueUrl", "sqs:Delete"]),
)
def test_remembered_wildcard_answers_stay_right(name: str, action: str) -> None:
    import fnmatch

    resource = f"arn:aws:sqs:us-east-1:{OWNER}:{name}"
    for _ in range(2):
        expected = fnmatch.fnmatchcase(name, "a*b?") and fnmatch.fnmatchcase(
            action.lower(), "sqs:?e*"
        )
        assert decide(caller(action=action, resource=resource), SHARED).allowed is expected


def test_many_wildcards_do_not_backtrack_without_end() -> None:
    # A naive translation needs about 2000**12 steps to fail this; the atomic one a few thousand.
    pattern = "*a" * 12 + "*b"
    grant = statement(
        Resource=f"arn:aws:sqs:*:*:{pattern}", Condition={"StringLike": {"k": pattern}}
    )
    value = "a" * 2000
    assert not allows(grant, caller(resource=f"arn:aws:sqs:us-east-1:{OWNER}:{value}", k=value))
    assert allows(grant, caller(resource=f"arn:aws:sqs:us-east-1:{OWNER}:{value}b", k=value + "b"))


def test_a_request_keeps_the_context_it_was_given() -> None:
    request = AccessRequest(
        "SQS:SendMessage",
        QUEUE,
        service="sns.amazonaws.com",
        context={"AWS:SourceArn": TOPIC, "aws:SecureTransport": True, "n": 3, "tags": ["x", "y"]},
    )
    assert request.action_key == "sqs:sendmessage"
    assert request.values == {
        "aws:sourcearn": (TOPIC,),
        "aws:securetransport": ("true",),
        "n": ("3",),
        "tags": ("x", "y"),
        "aws:principalservicename": ("sns.amazonaws.com",),
    }
