"""Many patterns under ids, matched against one document at a time, as event-ruler does it.

Every pattern is distributed into conjunctions (one per combination of ``$or`` branches), and each
conjunction into a sorted sequence of *slots*: a field path with the conditions one of which must
hold there. The sequences are merged into a trie of states, so patterns that share leading slots
share states. An edge out of a state is keyed by path; its value index answers "which next states
does this value reach" with hash maps for exact and case-folded values, affix tables probed once per
distinct affix length, and an interval tree for numeric ranges and CIDR blocks. Only anything-but
and wildcard conditions are evaluated one by one, and they are sorted last so they are reached only
by documents that already satisfied every indexed slot before them.

Matching first collects the document's leaf values at the paths some pattern names (so unnamed
subtrees are never walked), then runs the trie from its root. The work grows with the document and
with the states it reaches, not with the number of patterns.

Two things the trie cannot decide exactly are handed to the pattern's own matcher, per candidate:

* ``exists: false`` slots (absence is per array element, see :mod:`broker.matching.compiled`):
  they are left out of the sequence, and a conjunction that had one is only a candidate;
* values that came from objects inside arrays: the trie does not track array elements, so a
  conjunction reached through such a value is confirmed with the element-by-element matcher.

Both only ever widen the candidate set, so the index and :meth:`CompiledPattern.matches` agree.
Not thread-safe: guard writers against concurrent readers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from broker.matching.compiled import CompiledPattern, compile_pattern
from broker.matching.dialects import Dialect, resolve
from broker.matching.documents import prepare
from broker.matching.intervals import IntervalSet
from broker.matching.matchers import (
    AnythingBut,
    Cidr,
    Condition,
    Equals,
    EqualsIgnoreCase,
    Exists,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
    ip_address,
)
from broker.matching.syntax import ObjectPattern, Path
from broker.matching.values import NumberScale, Scalar, value_key

K = TypeVar("K", bound=Hashable)

Slot = tuple[Path, tuple[Condition, ...]]
Conjunction = tuple[tuple[Slot, ...], bool]  # the slots, and whether a match must be confirmed
Field = tuple[Scalar, Hashable, bool]  # a leaf value, its key, whether it sits in an array element

_PRESENT: tuple[Condition, ...] = (Exists(True),)


class _State:
    __slots__ = ("children", "confirm", "edges", "exact", "uses")

    def __init__(self) -> None:
        self.edges: dict[Path, _Edges] = {}
        self.children: dict[Slot, _State] = {}
        self.exact: Counter[Hashable] = Counter()  # ids whose conjunction ends here
        self.confirm: Counter[Hashable] = Counter()  # ids that must be confirmed
        self.uses = 0


class _Affixes:
    """Prefixes (or suffixes) by text; a value is probed once per distinct length."""

    __slots__ = ("lengths", "suffix", "table")

    def __init__(self, suffix: bool) -> None:
        self.suffix = suffix
        self.table: dict[str, list[_State]] = {}
        self.lengths: list[int] = []

    def add(self, text: str, state: _State) -> None:
        self.table.setdefault(text, []).append(state)
        self._relength()

    def remove(self, text: str, state: _State) -> None:
        states = self.table[text]
        states.remove(state)
        if not states:
            del self.table[text]
        self._relength()

    def _relength(self) -> None:
        self.lengths = sorted({len(text) for text in self.table})

    def collect(self, text: str, out: list[_State]) -> None:
        size = len(text)
        for length in self.lengths:
            if length > size:
                break
            piece = text[size - length :] if self.suffix else text[:length]
            states = self.table.get(piece)
            if states:
                out.extend(states)


class _Edges:
    """The transitions out of one state on one path, indexed by the values that take them."""

    __slots__ = (
        "exact",
        "exact_only",
        "folded",
        "folded_prefixes",
        "folded_suffixes",
        "networks",
        "prefixes",
        "present",
        "ranges",
        "residual",
        "scale",
        "size",
        "suffixes",
    )

    def __init__(self, scale: NumberScale) -> None:
        self.scale = scale
        self.size = 0
        self.exact: dict[Hashable, list[_State]] = {}
        self.folded: dict[str, list[_State]] = {}
        self.prefixes: _Affixes | None = None
        self.folded_prefixes: _Affixes | None = None
        self.suffixes: _Affixes | None = None
        self.folded_suffixes: _Affixes | None = None
        self.ranges: IntervalSet[_State] | None = None
        self.networks: dict[int, IntervalSet[_State]] = {}
        self.present: list[_State] = []
        self.residual: list[tuple[Condition, _State]] = []
        self.exact_only = True

    def add(self, conditions: tuple[Condition, ...], state: _State) -> None:
        self.size += 1
        for condition in conditions:
            self._register(condition, state, adding=True)
        self._classify()

    def remove(self, conditions: tuple[Condition, ...], state: _State) -> None:
        self.size -= 1
        for condition in conditions:
            self._register(condition, state, adding=False)
        self._classify()

    def _classify(self) -> None:
        affixes = (self.prefixes, self.folded_prefixes, self.suffixes, self.folded_suffixes)
        self.exact_only = not (
            self.folded
            or any(a is not None and a.table for a in affixes)
            or (self.ranges is not None and len(self.ranges))
            or any(len(n) for n in self.networks.values())
            or self.present
            or self.residual
        )

    def _register(self, condition: Condition, state: _State, *, adding: bool) -> None:
        if isinstance(condition, Equals):
            _update(self.exact, condition.key, state, adding)
        elif isinstance(condition, EqualsIgnoreCase):
            _update(self.folded, condition.folded, state, adding)
        elif isinstance(condition, Prefix | Suffix):
            affixes = self._affixes(condition)
            if adding:
                affixes.add(condition.text, state)
            else:
                affixes.remove(condition.text, state)
        elif isinstance(condition, Numeric):
            self._register_range(condition, state, adding)
        elif isinstance(condition, Cidr):
            networks = self.networks.setdefault(condition.version, IntervalSet())
            if adding:
                networks.add(condition.first, condition.last, state)
            else:
                networks.remove(condition.first, condition.last, state)
        elif isinstance(condition, Exists):
            # Only exists:true reaches here; exists:false slots are left out of sequences.
            if adding:
                self.present.append(state)
            else:
                self.present.remove(state)
        elif adding:
            self.residual.append((condition, state))
        else:
            self.residual.remove((condition, state))

    def _affixes(self, condition: Prefix | Suffix) -> _Affixes:
        suffix = isinstance(condition, Suffix)
        name = ("folded_" if condition.ignore_case else "") + ("suffixes" if suffix else "prefixes")
        affixes: _Affixes | None = getattr(self, name)
        if affixes is None:
            affixes = _Affixes(suffix)
            setattr(self, name, affixes)
        return affixes

    def _register_range(self, condition: Numeric, state: _State, adding: bool) -> None:
        if condition.low is not None and condition.low == condition.high:
            _update(self.exact, ("#", condition.low), state, adding)
            return
        bound = self.scale.limit * self.scale.factor
        low = -bound if condition.low is None else condition.low
        high = bound if condition.high is None else condition.high
        if low > high:
            return  # e.g. "> 5e9": no number in the dialect's range can match
        if self.ranges is None:
            self.ranges = IntervalSet()
        if adding:
            self.ranges.add(low, high, state)
        else:
            self.ranges.remove(low, high, state)

    def targets(self, value: Scalar, key: Hashable, out: list[_State]) -> None:
        """Append the states that ``value`` (whose :func:`value_key` is ``key``) reaches."""
        if self.exact:
            states = self.exact.get(key)
            if states:
                out.extend(states)
        if isinstance(value, str):
            if self.prefixes is not None:
                self.prefixes.collect(value, out)
            if self.suffixes is not None:
                self.suffixes.collect(value, out)
            if self.folded or self.folded_prefixes is not None or self.folded_suffixes is not None:
                folded = value.casefold()
                if self.folded:
                    out.extend(self.folded.get(folded, ()))
                if self.folded_prefixes is not None:
                    self.folded_prefixes.collect(folded, out)
                if self.folded_suffixes is not None:
                    self.folded_suffixes.collect(folded, out)
            if self.networks:
                address = ip_address(value)
                if address is not None and address[0] in self.networks:
                    out.extend(self.networks[address[0]].containing(address[1]))
        elif self.ranges is not None and isinstance(key, tuple) and key[0] == "#":
            out.extend(self.ranges.containing(key[1]))
        if self.present:
            out.extend(self.present)
        for condition, state in self.residual:
            if condition.matches(value, self.scale):
                out.append(state)


def _update(table: dict[Any, list[_State]], key: Hashable, state: _State, adding: bool) -> None:
    if adding:
        table.setdefault(key, []).append(state)
    else:
        states = table[key]
        states.remove(state)
        if not states:
            del table[key]


class _PathNode:
    """The trie of every path some edge names: it steers the walk over a document."""

    __slots__ = ("children", "path", "wanted")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.children: dict[str, _PathNode] = {}
        self.wanted = False


def _collect(
    value: Any, node: _PathNode, in_element: bool, scale: NumberScale, out: dict[Path, list[Field]]
) -> None:
    if isinstance(value, dict):
        children = node.children
        if len(children) < len(value):
            for key, child in children.items():
                if key in value:
                    _collect(value[key], child, in_element, scale, out)
        else:
            for key, item in value.items():
                found = children.get(key)
                if found is not None:
                    _collect(item, found, in_element, scale, out)
    elif isinstance(value, list):
        for element in value:
            _collect(element, node, in_element or isinstance(element, dict), scale, out)
    elif node.wanted:
        field = (value, value_key(value, scale), in_element)
        fields = out.get(node.path)
        if fields is None:
            out[node.path] = [field]
        else:
            fields.append(field)


_ONE_BY_ONE = (AnythingBut, Wildcard)


def _slot_order(slot: Slot) -> tuple[int, Path, int]:
    """Selective, indexed slots first; presence next; one-by-one conditions last.

    The hash only breaks ties between slots on one path; equal slot sets sort alike, which is
    what lets patterns share states.
    """
    path, conditions = slot
    if conditions == _PRESENT:
        rank = 1
    elif any(isinstance(c, _ONE_BY_ONE) for c in conditions):
        rank = 2
    else:
        rank = 0
    return rank, path, hash(conditions)


def conjunctions(pattern: ObjectPattern) -> list[Conjunction]:
    """Distribute every ``$or``: the pattern as alternatives, each a sorted set of slots."""
    return [
        (tuple(sorted(set(slots), key=_slot_order)), confirm)
        for slots, confirm in _distribute(pattern, ())
    ]


def _distribute(pattern: ObjectPattern, prefix: Path) -> list[Conjunction]:
    slots: list[Slot] = []
    confirm = False
    for leaf in pattern.leaves:
        if leaf.absent_ok:
            confirm = True
            continue
        if leaf.present_ok:
            conditions = _PRESENT  # any present value satisfies the slot
        elif len(leaf.conditions) == 1:
            conditions = leaf.conditions
        else:
            conditions = tuple(sorted(leaf.conditions, key=hash))
        slots.append(((*prefix, leaf.key), conditions))
    result: list[Conjunction] = [(tuple(slots), confirm)]
    parts = [_distribute(child, (*prefix, key)) for key, child in pattern.children]
    if pattern.alternatives:
        parts.append([c for branch in pattern.alternatives for c in _distribute(branch, prefix)])
    for part in parts:
        result = [(s + more, c or c_more) for s, c in result for more, c_more in part]
    return result


class PatternIndex(Generic[K]):
    """Compiled patterns of one dialect under ids; :meth:`matching_ids` finds those that match."""

    def __init__(self, dialect: str | Dialect = "eventbridge") -> None:
        self.dialect = resolve(dialect)
        self._scale = self.dialect.numbers
        self._root = _State()
        self._entries: dict[K, tuple[CompiledPattern, list[Conjunction]]] = {}
        self._path_uses: Counter[Path] = Counter()
        self._paths: _PathNode | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, id: object) -> bool:
        return id in self._entries

    def ids(self) -> Iterable[K]:
        return self._entries.keys()

    def get(self, id: K) -> CompiledPattern:
        return self._entries[id][0]

    def add(self, id: K, pattern: CompiledPattern | str | bytes | Mapping[str, Any]) -> None:
        """Register ``pattern`` under ``id``, replacing any pattern the id had.

        A raw pattern is compiled first, so an invalid one raises ``InvalidPattern`` and leaves
        the index unchanged.
        """
        if isinstance(pattern, CompiledPattern):
            if pattern.dialect != self.dialect:
                raise ValueError(
                    f"pattern compiled for {pattern.dialect.name}, index is {self.dialect.name}"
                )
            compiled = pattern
        else:
            compiled = compile_pattern(pattern, self.dialect)
        self.remove(id)
        sequences = conjunctions(compiled.root)
        for slots, confirm in sequences:
            self._insert(id, slots, confirm)
        self._entries[id] = (compiled, sequences)

    def remove(self, id: K) -> None:
        """Forget ``id``; unknown ids are ignored."""
        entry = self._entries.pop(id, None)
        if entry is not None:
            for slots, confirm in entry[1]:
                self._delete(id, slots, confirm)

    def _insert(self, id: K, slots: tuple[Slot, ...], confirm: bool) -> None:
        state = self._root
        for slot in slots:
            child = state.children.get(slot)
            if child is None:
                child = state.children[slot] = _State()
                path, conditions = slot
                edges = state.edges.get(path)
                if edges is None:
                    edges = state.edges[path] = _Edges(self._scale)
                edges.add(conditions, child)
                self._path_uses[path] += 1
                if self._path_uses[path] == 1:
                    self._paths = None
            child.uses += 1
            state = child
        (state.confirm if confirm else state.exact)[id] += 1

    def _delete(self, id: K, slots: tuple[Slot, ...], confirm: bool) -> None:
        trail = [self._root]
        for slot in slots:
            trail.append(trail[-1].children[slot])
        ends = trail[-1].confirm if confirm else trail[-1].exact
        ends[id] -= 1
        if ends[id] <= 0:
            del ends[id]
        for depth, (parent, slot, child) in enumerate(zip(trail, slots, trail[1:], strict=False)):
            child.uses -= 1
            if child.uses == 0:
                # Everything below is used only by this conjunction; dropping the edge frees it.
                path, conditions = slot
                del parent.children[slot]
                edges = parent.edges[path]
                edges.remove(conditions, child)
                if edges.size == 0:
                    del parent.edges[path]
                self._release_paths(slots[depth:])
                return

    def _release_paths(self, slots: tuple[Slot, ...]) -> None:
        for path, _ in slots:
            self._path_uses[path] -= 1
            if self._path_uses[path] <= 0:
                del self._path_uses[path]
                self._paths = None

    def _path_trie(self) -> _PathNode:
        if self._paths is None:
            root = _PathNode(())
            for path in self._path_uses:
                node = root
                for depth, key in enumerate(path):
                    child = node.children.get(key)
                    if child is None:
                        child = node.children[key] = _PathNode(path[: depth + 1])
                    node = child
                node.wanted = True
            self._paths = root
        return self._paths

    def matching_ids(self, document: object) -> set[K]:
        """The ids of every registered pattern that matches ``document``."""
        prepared = prepare(document, self.dialect)
        if prepared is None:
            return set()
        fields: dict[Path, list[Field]] = {}
        _collect(prepared, self._path_trie(), False, self._scale, fields)

        matched: set[Any] = set()
        suspects: set[Any] = set()
        # Reaching a state without an array-element value is stronger than reaching it with one.
        seen: dict[int, bool] = {}
        stack: list[tuple[_State, bool]] = [(self._root, False)]
        reached: list[_State] = []
        while stack:
            state, in_element = stack.pop()
            if state.exact:
                (suspects if in_element else matched).update(state.exact)
            if state.confirm:
                suspects.update(state.confirm)
            edges = state.edges
            if not edges:
                continue
            if len(edges) < len(fields):
                pairs = [(e, fields[p]) for p, e in edges.items() if p in fields]
            else:
                pairs = [(edges[p], f) for p, f in fields.items() if p in edges]
            for edge, values in pairs:
                exact_only = edge.exact_only
                for value, key, value_in_element in values:
                    flag = in_element or value_in_element
                    if exact_only:  # the common case, without the call
                        reached.extend(edge.exact.get(key, ()))
                    else:
                        edge.targets(value, key, reached)
                    for target in reached:
                        previous = seen.get(id(target))
                        if previous is None or (previous and not flag):
                            seen[id(target)] = flag
                            stack.append((target, flag))
                    reached.clear()

        for pattern_id in suspects - matched:
            if self._entries[pattern_id][0].matches_prepared(prepared):
                matched.add(pattern_id)
        return matched
