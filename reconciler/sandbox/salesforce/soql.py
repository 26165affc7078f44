"""A SOQL subset: tokenizer and recursive-descent parser producing a small syntax tree.

Grammar (keywords case-insensitive)::

    query      := SELECT items FROM name [WHERE or] [ORDER BY order (',' order)*]
                  [LIMIT int] [OFFSET int]
    items      := item (',' item)*
    item       := COUNT '(' [path] ')' | path
    or         := and (OR and)*
    and        := not (AND not)*
    not        := NOT not | '(' or ')' | path compare
    compare    := op value | [NOT] IN '(' value (',' value)* ')' | LIKE string
    op         := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
    value      := string | number | date | datetime | NULL | TRUE | FALSE
                  | TODAY | YESTERDAY | TOMORROW | LAST_N_DAYS ':' int | NEXT_N_DAYS ':' int
    order      := path [ASC | DESC] [NULLS (FIRST | LAST)]
    path       := name ('.' name)*

Semantic checks (does the field exist, do the types fit) belong to ``query.py``, which knows the
schema; this module only knows the language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Union


class SoqlError(Exception):
    """A query the API refuses; ``code`` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def malformed(message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", message)


KEYWORDS = frozenset({"select", "from", "where", "and", "or", "not", "in", "like", "order", "by",
                      "asc", "desc", "nulls", "first", "last", "limit", "offset", "null", "true",
                      "false", "count"})
RELATIVE_DATES = frozenset({"today", "yesterday", "tomorrow"})
RELATIVE_DAY_RANGES = frozenset({"last_n_days", "next_n_days"})


@dataclass(frozen=True)
class Token:
    kind: str      # word, string, number, date, datetime, op, punct, end
    text: str
    value: object  # number/date/datetime: the literal; string: its characters (escaped % and _ as 2 chars)
    position: int


def _scan_digits(text: str, i: int, count: int) -> bool:
    return i + count <= len(text) and text[i:i + count].isdigit()


def _scan_temporal(text: str, i: int) -> tuple[str, object, int] | None:
    """Recognise YYYY-MM-DD, optionally followed by Thh:mm:ss[.fff](Z|+hh:mm|-hh:mm)."""
    if not (_scan_digits(text, i, 4) and text[i + 4:i + 5] == "-" and _scan_digits(text, i + 5, 2)
            and text[i + 7:i + 8] == "-" and _scan_digits(text, i + 8, 2)):
        return None
    end = i + 10
    try:
        day = dt.date.fromisoformat(text[i:end])
    except ValueError as exc:
        raise malformed(f"invalid date: {text[i:end]}") from exc
    if text[end:end + 1] != "T":
        return "date", day, end
    j = end + 1
    if not (_scan_digits(text, j, 2) and text[j + 2:j + 3] == ":" and _scan_digits(text, j + 3, 2)
            and text[j + 5:j + 6] == ":" and _scan_digits(text, j + 6, 2)):
        raise malformed(f"invalid datetime near {text[i:j + 8]}")
    j += 8
    if text[j:j + 1] == ".":
        j += 1
        while j < len(text) and text[j].isdigit():
            j += 1
    if text[j:j + 1] == "Z":
        j += 1
    elif text[j:j + 1] in ("+", "-") and _scan_digits(text, j + 1, 2):
        j += 3
        if text[j:j + 1] == ":":
            j += 1
        if not _scan_digits(text, j, 2):
            raise malformed(f"invalid datetime offset in {text[i:j]}")
        j += 2
    else:
        raise malformed(f"datetime literal {text[i:j]} needs a time zone (Z or +hh:mm)")
    literal = text[i:j].replace("Z", "+00:00")
    if len(literal) >= 5 and literal[-5] in "+-" and literal[-3] != ":":
        literal = literal[:-2] + ":" + literal[-2:]
    try:
        moment = dt.datetime.fromisoformat(literal)
    except ValueError as exc:
        raise malformed(f"invalid datetime: {text[i:j]}") from exc
    return "datetime", moment.astimezone(dt.timezone.utc), j


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("word", text[i:j], None, i))
            i = j
        elif c == "'":
            chars: list[str] = []
            j = i + 1
            while True:
                if j >= n:
                    raise malformed(f"unterminated string literal at position {i}")
                ch = text[j]
                if ch == "\\":
                    if j + 1 >= n:
                        raise malformed(f"unterminated string literal at position {i}")
                    escaped = text[j + 1]
                    # \% and \_ stay escaped: they mean a literal % or _ inside a LIKE pattern.
                    chars.append("\\" + escaped if escaped in "%_" else
                                 {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(escaped, escaped))
                    j += 2
                elif ch == "'":
                    j += 1
                    break
                else:
                    chars.append(ch)
                    j += 1
            tokens.append(Token("string", text[i:j], chars, i))
            i = j
        elif c.isdigit() or (c in "+-" and i + 1 < n and text[i + 1].isdigit()
                             and (not tokens or tokens[-1].kind in ("op", "punct", "word"))):
            temporal = _scan_temporal(text, i) if c.isdigit() else None
            if temporal is not None:
                kind, value, j = temporal
                tokens.append(Token(kind, text[i:j], value, i))
                i = j
                continue
            j = i + 1
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            literal = text[i:j]
            try:
                number: object = float(literal) if "." in literal else int(literal)
            except ValueError as exc:
                raise malformed(f"invalid number {literal}") from exc
            tokens.append(Token("number", literal, number, i))
            i = j
        elif text.startswith(("!=", "<>", "<=", ">="), i):
            tokens.append(Token("op", text[i:i + 2], None, i))
            i += 2
        elif c in "=<>":
            tokens.append(Token("op", c, None, i))
            i += 1
        elif c in "(),.:":
            tokens.append(Token("punct", c, None, i))
            i += 1
        else:
            raise malformed(f"unexpected character '{c}' at position {i}")
    tokens.append(Token("end", "", None, n))
    return tokens


# -- syntax tree --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]   # as written, e.g. ("Owner", "Email")

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Count:
    field: FieldPath | None  # COUNT() when None, COUNT(Id) otherwise


@dataclass(frozen=True)
class LikePattern:
    """A LIKE pattern as characters: ``%`` and ``_`` are wildcards, ``\\%`` and ``\\_`` literal ones."""

    chars: tuple[str, ...]


@dataclass(frozen=True)
class RelativeDate:
    """TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n: a range of whole UTC days."""

    name: str
    days: int = 0


Literal = Union[str, int, float, bool, None, dt.date, dt.datetime, RelativeDate]


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    op: str                 # = != < <= > >= in notin like
    value: object           # a Literal, a tuple of Literals for IN / NOT IN, a LikePattern for LIKE


@dataclass(frozen=True)
class Not:
    operand: "Condition"


@dataclass(frozen=True)
class BoolOp:
    op: str                 # and / or
    operands: tuple["Condition", ...]


Condition = Union[Comparison, Not, BoolOp]


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    items: tuple[FieldPath | Count, ...]
    sobject: str
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    # token helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.i]

    def _is_word(self, *words: str) -> bool:
        token = self.current
        return token.kind == "word" and token.text.lower() in words

    def _accept_word(self, *words: str) -> bool:
        if self._is_word(*words):
            self.i += 1
            return True
        return False

    def _expect_word(self, word: str) -> None:
        if not self._accept_word(word):
            raise self._unexpected(f"expecting {word.upper()}")

    def _accept_punct(self, punct: str) -> bool:
        if self.current.kind == "punct" and self.current.text == punct:
            self.i += 1
            return True
        return False

    def _expect_punct(self, punct: str) -> None:
        if not self._accept_punct(punct):
            raise self._unexpected(f"expecting '{punct}'")

    def _unexpected(self, expectation: str) -> SoqlError:
        token = self.current
        found = "end of query" if token.kind == "end" else f"'{token.text}'"
        return malformed(f"unexpected token: {found} at position {token.position}, {expectation}")

    def _name(self) -> str:
        token = self.current
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise self._unexpected("expecting a field or object name")
        self.i += 1
        return token.text

    def _int(self) -> int:
        token = self.current
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise self._unexpected("expecting a non-negative integer")
        self.i += 1
        return token.value

    # grammar
    def query(self) -> Query:
        self._expect_word("select")
        items = [self._item()]
        while self._accept_punct(","):
            items.append(self._item())
        self._expect_word("from")
        sobject = self._name()
        where = self._or() if self._accept_word("where") else None
        order: list[OrderItem] = []
        if self._accept_word("order"):
            self._expect_word("by")
            order.append(self._order_item())
            while self._accept_punct(","):
                order.append(self._order_item())
        limit = self._int() if self._accept_word("limit") else None
        offset = self._int() if self._accept_word("offset") else None
        if self.current.kind != "end":
            raise self._unexpected("expecting the end of the query")
        if any(isinstance(item, Count) for item in items) and len(items) > 1:
            raise malformed("COUNT() cannot be combined with other fields in this sandbox")
        return Query(tuple(items), sobject, where, tuple(order), limit, offset)

    def _path(self) -> FieldPath:
        parts = [self._name()]
        while self._accept_punct("."):
            parts.append(self._name())
        return FieldPath(tuple(parts))

    def _item(self) -> FieldPath | Count:
        if self._is_word("count") and self.tokens[self.i + 1].text == "(":
            self.i += 2
            counted = None if self.current.text == ")" else self._path()
            self._expect_punct(")")
            return Count(counted)
        return self._path()

    def _order_item(self) -> OrderItem:
        path = self._path()
        descending = False
        if self._accept_word("desc"):
            descending = True
        else:
            self._accept_word("asc")
        nulls_last = descending  # Salesforce: ASC puts nulls first, DESC puts them last
        if self._accept_word("nulls"):
            if self._accept_word("first"):
                nulls_last = False
            elif self._accept_word("last"):
                nulls_last = True
            else:
                raise self._unexpected("expecting FIRST or LAST")
        return OrderItem(path, descending, nulls_last)

    def _or(self) -> Condition:
        operands = [self._and()]
        while self._accept_word("or"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def _and(self) -> Condition:
        operands = [self._not()]
        while self._accept_word("and"):
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def _not(self) -> Condition:
        if self._accept_word("not"):
            return Not(self._not())
        if self._accept_punct("("):
            inner = self._or()
            self._expect_punct(")")
            return inner
        return self._comparison()

    def _comparison(self) -> Comparison:
        path = self._path()
        token = self.current
        if token.kind == "op":
            self.i += 1
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, self._value())
        if self._accept_word("like"):
            if self.current.kind != "string":
                raise self._unexpected("LIKE needs a string")
            pattern = LikePattern(tuple(self.current.value))  # type: ignore[arg-type]
            self.i += 1
            return Comparison(path, "like", pattern)
        negated = self._accept_word("not")
        if self._accept_word("in"):
            self._expect_punct("(")
            values = [self._value()]
            while self._accept_punct(","):
                values.append(self._value())
            self._expect_punct(")")
            return Comparison(path, "notin" if negated else "in", tuple(values))
        raise self._unexpected("expecting a comparison operator")

    def _value(self) -> Literal:
        token = self.current
        if token.kind == "string":
            self.i += 1
            return "".join(c[-1] for c in token.value)  # type: ignore[union-attr]
        if token.kind in ("number", "date", "datetime"):
            self.i += 1
            return token.value  # type: ignore[return-value]
        if token.kind == "word":
            word = token.text.lower()
            if word in ("null", "true", "false"):
                self.i += 1
                return {"null": None, "true": True, "false": False}[word]
            if word in RELATIVE_DATES:
                self.i += 1
                return RelativeDate(word)
            if word in RELATIVE_DAY_RANGES:
                self.i += 1
                self._expect_punct(":")
                return RelativeDate(word, self._int())
        raise self._unexpected("expecting a value")


def parse(text: str) -> Query:
    """Parse ``text`` or raise SoqlError(MALFORMED_QUERY)."""
    return _Parser(text).query()
