import uuid

from broker.core.identifiers import random_uuid


def test_random_uuid_is_a_version_4_rfc_4122_uuid_in_canonical_form() -> None:
    for _ in range(2000):
        text = random_uuid()
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_random_uuid_varies_every_random_digit() -> None:
    seen = [set() for _ in range(36)]
    for _ in range(2000):
        for position, char in enumerate(random_uuid()):
            seen[position].add(char)
    fixed = {8, 13, 18, 23, 14}  # four dashes and the version digit
    for position, chars in enumerate(seen):
        if position in fixed:
            assert len(chars) == 1
        elif position == 19:
            assert chars == set("89ab")
        else:
            assert len(chars) == 16, position
    assert len({random_uuid() for _ in range(10_000)}) == 10_000
