"""Run a parsed SOQL query against the store: resolve fields, check literal types, pick an index,
filter, sort, page and render records the way the REST API returns them.

SOQL semantics kept here (as documented by Salesforce): string comparisons and LIKE are
case-insensitive, ``!=`` and NOT IN match nulls, ASC sorts nulls first and DESC last unless NULLS
FIRST/LAST says otherwise, OFFSET is capped at 2,000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .schema import (BOOLEAN, DATE, DATETIME, DOUBLE, EMAIL, ID, INT, REFERENCE, STRING, TEXT_TYPES,
                     FieldDef, ObjectDef)
from .soql import (BoolOp, Comparison, Condition, Count, FieldPath, LikePattern, Not, Query,
                   RelativeDate, SoqlError)
from .store import Record, Store, normalize_id, render_datetime

MAX_OFFSET = 2000
# Polymorphic relationships (Who, What, Relation) resolve through Salesforce's "Name" entity, which
# exposes only these fields whatever the linked record's type.
_NAME_ENTITY = {canonical.lower(): FieldDef(canonical, kind) for canonical, kind in (
    ("Id", ID), ("Name", STRING), ("Email", EMAIL), ("FirstName", STRING), ("LastName", STRING),
    ("Title", STRING), ("Phone", STRING), ("Username", STRING), ("IsActive", BOOLEAN), ("Type", STRING))}
_MODSTAMP_FIELDS = frozenset({"SystemModstamp", "LastModifiedDate"})


def _invalid_field(message: str) -> SoqlError:
    return SoqlError("INVALID_FIELD", message)


@dataclass(frozen=True)
class Column:
    """A resolved field path: the reference fields to follow, then the field to read."""

    steps: tuple[FieldDef, ...]   # reference fields, e.g. (OwnerId,) for Owner.Email
    target: FieldDef              # the field read on the last record
    polymorphic: bool             # the last step points at several types (Who, What, Relation)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(s.relationship_name or "" for s in self.steps) + (self.target.name,)


@dataclass
class CompiledQuery:
    obj: ObjectDef
    columns: list[Column]
    count: Count | None
    predicate: Callable[[Record], bool] | None
    candidates: Callable[[], Iterable[Record]]
    order: list[tuple[Column, bool, bool]]  # column, descending, nulls_last
    limit: int | None
    offset: int


class QueryRunner:
    """Compiles and runs queries for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- compile ---------------------------------------------------------------------------------

    def compile(self, query: Query) -> CompiledQuery:
        obj = self.store.object(query.sobject)
        if obj is None:
            raise SoqlError("INVALID_TYPE",
                            f"sObject type '{query.sobject}' is not supported. If you are attempting to use "
                            f"a custom object, be sure to append the '__c' after the entity name. Please "
                            f"reference your WSDL or the describe call for the appropriate names.")
        count: Count | None = None
        columns: list[Column] = []
        for item in query.items:
            if isinstance(item, Count):
                count = item
                if item.field is not None:
                    self.resolve(obj, item.field)
            else:
                column = self.resolve(obj, item)
                if column.key in {c.key for c in columns}:
                    raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {item.text}")
                columns.append(column)
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE",
                            f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        predicate = None if query.where is None else self._condition(obj, query.where)
        order = [(self.resolve(obj, o.field), o.descending, o.nulls_last) for o in query.order_by]
        if count is not None and order:
            raise SoqlError("MALFORMED_QUERY", "ORDER BY is not allowed with COUNT()")
        return CompiledQuery(obj, columns, count, predicate, self._plan(obj, query.where), order,
                             query.limit, query.offset or 0)

    def resolve(self, obj: ObjectDef, path: FieldPath) -> Column:
        steps: list[FieldDef] = []
        current: ObjectDef | None = obj
        polymorphic = False
        for relationship in path.parts[:-1]:
            if current is None:  # past a polymorphic step: only the Name entity's fields remain
                raise _invalid_field(f"Didn't understand relationship '{relationship}' in field path.")
            reference = current.relationships.get(relationship.lower())
            if reference is None:
                raise _invalid_field(
                    f"Didn't understand relationship '{relationship}' in field path. If you are attempting "
                    f"to use a custom relationship, be sure to append the '__r' after the custom "
                    f"relationship name. Please reference your WSDL or the describe call for the "
                    f"appropriate names.")
            steps.append(reference)
            polymorphic = len(reference.reference_to) > 1
            current = None if polymorphic else self.store.object(reference.reference_to[0])
        name = path.parts[-1]
        if current is None:
            target = _NAME_ENTITY.get(name.lower())
            entity = "Name"
        else:
            target = current.field(name)
            entity = current.name
        if target is None:
            raise _invalid_field(
                f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
                f"field, be sure to append the '__c' after the custom field name. Please reference your "
                f"WSDL or the describe call for the appropriate names.")
        return Column(tuple(steps), target, polymorphic)

    def value(self, record: Record, column: Column) -> Any:
        current: Record | None = record
        for step in column.steps:
            linked = current.get(step.name) if current is not None else None
            current = self.store.get(linked) if linked is not None else None
            if current is None:
                return None
        assert current is not None
        if column.polymorphic and column.target.name == "Type":
            target_obj = self.store.object_of_id(current["Id"])
            return None if target_obj is None else target_obj.name
        return current.get(column.target.name)

    # -- WHERE -----------------------------------------------------------------------------------

    def _condition(self, obj: ObjectDef, condition: Condition) -> Callable[[Record], bool]:
        if isinstance(condition, BoolOp):
            parts = [self._condition(obj, c) for c in condition.operands]
            if condition.op == "and":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(condition, Not):
            inner = self._condition(obj, condition.operand)
            return lambda r: not inner(r)
        return self._comparison(obj, condition)

    def _comparison(self, obj: ObjectDef, comparison: Comparison) -> Callable[[Record], bool]:
        column = self.resolve(obj, comparison.field)
        kind = column.target.type
        text = kind in TEXT_TYPES and kind not in (ID, REFERENCE)
        if column.steps or column.polymorphic:
            get: Callable[[Record], Any] = lambda r: self.value(r, column)  # noqa: E731
        else:
            name = column.target.name
            get = lambda r: r.get(name)  # noqa: E731
        if text:
            raw_get = get
            get = lambda r: (lambda v: v.lower() if isinstance(v, str) else v)(raw_get(r))  # noqa: E731
        op = comparison.op
        if op == "like":
            if not text:
                raise _invalid_field(f"invalid operator on field '{comparison.field.text}': LIKE needs a "
                                     f"text field")
            assert isinstance(comparison.value, LikePattern)
            matches = _like_matcher(comparison.value)
            return lambda r: (lambda v: v is not None and matches(v))(get(r))
        if op in ("in", "notin"):
            values = {self._literal(column, comparison.field, v) for v in comparison.value}  # type: ignore[union-attr]
            if op == "in":
                return lambda r: get(r) in values
            return lambda r: get(r) not in values
        literal = comparison.value
        if isinstance(literal, RelativeDate):
            return self._relative(column, comparison.field, op, literal, get)
        value = self._literal(column, comparison.field, literal)
        if value is None:
            if op == "=":
                return lambda r: get(r) is None
            if op == "!=":
                return lambda r: get(r) is not None
            raise SoqlError("MALFORMED_QUERY", f"null can only be compared with = or != "
                                               f"({comparison.field.text})")
        if op == "=":
            return lambda r: get(r) == value
        if op == "!=":
            return lambda r: get(r) != value
        compare = {"<": lambda a: a < value, "<=": lambda a: a <= value,
                   ">": lambda a: a > value, ">=": lambda a: a >= value}[op]
        return lambda r: (lambda v: v is not None and compare(v))(get(r))

    def _literal(self, column: Column, path: FieldPath, literal: Any) -> Any:
        """The literal in the form the store keeps for this field's type, or an INVALID_FIELD error."""
        if literal is None:
            return None
        kind = column.target.type
        name = path.text

        def wrong(expected: str, quoted: bool) -> SoqlError:
            hint = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
            return _invalid_field(f"value of filter criterion for field '{name}' must be of type "
                                  f"{expected} and {hint}")

        if kind in (ID, REFERENCE):
            if not isinstance(literal, str):
                raise wrong("id", True)
            normal = normalize_id(literal)
            if normal is None:
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal}")
            return normal
        if kind in TEXT_TYPES:
            if not isinstance(literal, str):
                raise wrong("string", True)
            return literal.lower()
        if kind == BOOLEAN:
            if not isinstance(literal, bool):
                raise wrong("boolean", False)
            return literal
        if kind in (INT, DOUBLE):
            if isinstance(literal, bool) or not isinstance(literal, (int, float)):
                raise wrong("number", False)
            return literal
        if kind == DATE:
            if isinstance(literal, dt.datetime) or not isinstance(literal, dt.date):
                raise wrong("date", False)
            return literal.isoformat()
        if kind == DATETIME:
            if not isinstance(literal, dt.datetime):
                raise wrong("dateTime", False)
            return render_datetime(literal)
        raise wrong(kind, False)

    def _relative(self, column: Column, path: FieldPath, op: str, literal: RelativeDate,
                  get: Callable[[Record], Any]) -> Callable[[Record], bool]:
        """TODAY, LAST_N_DAYS:n ... are whole UTC days: [low, high) in the field's stored form."""
        kind = column.target.type
        if kind not in (DATE, DATETIME):
            raise _invalid_field(f"value of filter criterion for field '{path.text}' must be of type "
                                 f"{kind} and should not be a date literal")
        today = dt.datetime.now(dt.timezone.utc).date()
        # Educated guess: LAST_N_DAYS:n covers today and the n days before it.
        first, days = {
            "today": (today, 1), "yesterday": (today - dt.timedelta(days=1), 1),
            "tomorrow": (today + dt.timedelta(days=1), 1),
            "last_n_days": (today - dt.timedelta(days=literal.days), literal.days + 1),
            "next_n_days": (today + dt.timedelta(days=1), literal.days),
        }[literal.name]
        after = first + dt.timedelta(days=days)
        if kind == DATE:
            low, high = first.isoformat(), after.isoformat()
        else:
            low = render_datetime(dt.datetime.combine(first, dt.time(), dt.timezone.utc))
            high = render_datetime(dt.datetime.combine(after, dt.time(), dt.timezone.utc))
        inside = {"=": lambda v: low <= v < high, "!=": lambda v: not low <= v < high,
                  "<": lambda v: v < low, "<=": lambda v: v < high,
                  ">": lambda v: v >= high, ">=": lambda v: v >= low}[op]
        return lambda r: (lambda v: v is not None and inside(v))(get(r))

    # -- planning --------------------------------------------------------------------------------

    def _plan(self, obj: ObjectDef, where: Condition | None) -> Callable[[], Iterable[Record]]:
        """Pick the cheapest source of candidate rows from the top-level AND terms of WHERE:
        an Id list, an indexed reference field, or a SystemModstamp/LastModifiedDate lower bound;
        otherwise the whole table. The full predicate still runs on every candidate."""
        table = self.store.tables[obj.name.lower()]
        terms = [] if where is None else list(where.operands) if (
            isinstance(where, BoolOp) and where.op == "and") else [where]
        indexed = {f.lower() for f in obj.indexed}
        for term in terms:
            if not isinstance(term, Comparison) or len(term.field.parts) != 1:
                continue
            definition = obj.field(term.field.parts[0])
            if definition is None or term.op not in ("=", "in"):
                continue
            values = term.value if term.op == "in" else (term.value,)
            if not all(isinstance(v, str) for v in values):  # type: ignore[union-attr]
                continue  # "= null" is not in any index
            ids = [normalize_id(v) for v in values]  # type: ignore[union-attr]
            if definition.name == "Id":
                return lambda: (table[i] for i in dict.fromkeys(ids) if i is not None and i in table)
            if definition.name.lower() in indexed:
                def from_index(field_name: str = definition.name) -> Iterable[Record]:
                    found: set[str] = set()
                    for value in ids:
                        if value is not None:
                            found |= self.store.ids_where(obj, field_name, value)
                    return (table[i] for i in found)
                return from_index
        for term in terms:
            if (isinstance(term, Comparison) and len(term.field.parts) == 1 and term.op in (">", ">=")
                    and isinstance(term.value, dt.datetime)):
                definition = obj.field(term.field.parts[0])
                if definition is not None and definition.name in _MODSTAMP_FIELDS:
                    bound = render_datetime(term.value)

                    def newest_first(name: str = definition.name) -> Iterable[Record]:
                        for record_id in reversed(table):
                            record = table[record_id]
                            if record[name] < bound:
                                return
                            yield record
                    return newest_first
        return lambda: table.values()

    # -- run -------------------------------------------------------------------------------------

    def run(self, compiled: CompiledQuery, include_deleted: bool) -> list[str]:
        """The ids of the matching records, ordered, offset and limited."""
        predicate = compiled.predicate
        rows = [r for r in compiled.candidates()
                if (include_deleted or not r["IsDeleted"]) and (predicate is None or predicate(r))]
        if compiled.order:
            for column, descending, nulls_last in reversed(compiled.order):
                null_rank = 0 if nulls_last == descending else 2
                text = column.target.type in TEXT_TYPES and column.target.type not in (ID, REFERENCE)

                def key(r: Record, column: Column = column, null_rank: int = null_rank,
                        text: bool = text) -> tuple[Any, ...]:
                    v = self.value(r, column)
                    if v is None:
                        return (null_rank,)
                    return (1, v.lower() if text and isinstance(v, str) else v)
                rows.sort(key=key, reverse=descending)
        else:
            rows.sort(key=lambda r: r["Id"])
        end = None if compiled.limit is None else compiled.offset + compiled.limit
        return [r["Id"] for r in rows[compiled.offset:end]]

    def render(self, compiled: CompiledQuery, record: Record, api_version: str) -> dict[str, Any]:
        """One record as the REST API returns it: ``attributes`` first, relationship fields nested."""
        out = _attributes(compiled.obj.name, record["Id"], api_version)
        linked: dict[tuple[str, ...], Record | None] = {}
        for column in compiled.columns:
            target = out
            current: Record | None = record
            prefix: tuple[str, ...] = ()
            for step in column.steps:
                key = step.relationship_name or ""
                prefix += (key,)
                if prefix not in linked:
                    reference = current.get(step.name) if current is not None else None
                    linked[prefix] = self.store.get(reference) if reference is not None else None
                    found = linked[prefix]
                    found_obj = None if found is None else self.store.object_of_id(found["Id"])
                    target[key] = None if found is None or found_obj is None else _attributes(
                        found_obj.name, found["Id"], api_version)
                current = linked[prefix]
                if current is None:
                    break
                target = target[key]
            else:
                name = column.target.name
                if column.polymorphic and name == "Type":
                    target[name] = target["attributes"]["type"]
                else:
                    target[name] = current.get(name) if current is not None else None
        return out


def _attributes(type_name: str, record_id: str, api_version: str) -> dict[str, Any]:
    return {"attributes": {"type": type_name,
                           "url": f"/services/data/v{api_version}/sobjects/{type_name}/{record_id}"}}


def _like_matcher(pattern: LikePattern) -> Callable[[str], bool]:
    """LIKE, case-insensitive: the pattern splits at each unescaped % into fixed-length segments
    (None stands for _); matching each segment at its leftmost possible place is then exact."""
    segments: list[list[str | None]] = [[]]
    for char in pattern.chars:
        if char == "%":
            segments.append([])
        else:
            segments[-1].append(None if char == "_" else char[-1].lower())

    def fits(value: str, at: int, segment: list[str | None]) -> bool:
        if at < 0 or at + len(segment) > len(value):
            return False
        return all(p is None or p == c for p, c in zip(segment, value[at:at + len(segment)]))

    def find(value: str, segment: list[str | None], start: int, end: int) -> int:
        if None not in segment:
            return value.find("".join(segment), start, end)  # type: ignore[arg-type]
        for at in range(start, end - len(segment) + 1):
            if fits(value, at, segment):
                return at
        return -1

    def match(value: str) -> bool:
        if len(segments) == 1:
            return len(value) == len(segments[0]) and fits(value, 0, segments[0])
        first, last = segments[0], segments[-1]
        end = len(value) - len(last)
        if end < len(first) or not fits(value, 0, first) or not fits(value, end, last):
            return False
        position = len(first)
        for segment in segments[1:-1]:
            found = find(value, segment, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True

    return match
