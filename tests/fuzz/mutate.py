"""Structure-aware mutations of 2204/2301 messages for the fast path's fuzzer.

A message is read into a tree that keeps what a JSON library would lose — repeated keys,
member order, a number's own digits — so the mutations can make exactly what the C
scanner (``csrc/feefast_scan.c``) must survive: a key repeated (``feedetail`` twice, with
arrays of every length around the scanner's 32-line buffer; ``input`` twice), members
reordered, arrays spliced across keys, escapes in keys and values, amounts at every
boundary (16/17 integer digits, 2/3 decimals, signs, exponents, strings), dates at the
edge of the accepted range and around 128 distinct days, deep nesting, wrong types, and
plain byte damage. Everything here is deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

# -- the tree ------------------------------------------------------------------------------


@dataclass
class Str:
    text: str
    raw: str | None = None  # its JSON text as read (or with an escape put in); None: plain


@dataclass
class Num:
    raw: str


@dataclass
class Lit:
    raw: str  # true, false, null


@dataclass
class Arr:
    items: list[Node] = field(default_factory=list)


@dataclass
class Obj:
    members: list[tuple[Str, Node]] = field(default_factory=list)


Node = Str | Num | Lit | Arr | Obj
N = TypeVar("N", bound=Node)


class _Parser:
    """A strict JSON reader into the tree (ValueError on anything else)."""

    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def value(self, depth: int = 0) -> Node:
        if depth > 200:
            raise ValueError("too deep")
        self.ws()
        c = self.s[self.i : self.i + 1]
        if c == "{":
            return self.obj(depth)
        if c == "[":
            return self.arr(depth)
        if c == '"':
            return self.string()
        for word in ("true", "false", "null"):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return Lit(word)
        j = self.i
        while j < len(self.s) and self.s[j] in "+-0123456789.eE":
            j += 1
        raw = self.s[self.i : j]
        if not raw:
            raise ValueError("value")
        self.i = j
        return Num(raw)

    def string(self) -> Str:
        """(The whole text was checked by ``json.loads`` first: no control characters.)"""
        j = self.i + 1
        while True:
            k = self.s.index('"', j)
            backslashes = 0
            while self.s[k - 1 - backslashes] == "\\":
                backslashes += 1
            if backslashes % 2 == 0:
                break
            j = k + 1
        raw = self.s[self.i : k + 1]
        self.i = k + 1
        return Str(json.loads(raw) if "\\" in raw else raw[1:-1], raw)

    def obj(self, depth: int) -> Obj:
        self.i += 1
        out = Obj()
        self.ws()
        if self.s[self.i : self.i + 1] == "}":
            self.i += 1
            return out
        while True:
            self.ws()
            key = self.string()
            self.ws()
            if self.s[self.i : self.i + 1] != ":":
                raise ValueError("colon")
            self.i += 1
            out.members.append((key, self.value(depth + 1)))
            self.ws()
            c = self.s[self.i : self.i + 1]
            self.i += 1
            if c == "}":
                return out
            if c != ",":
                raise ValueError("comma")

    def arr(self, depth: int) -> Arr:
        self.i += 1
        out = Arr()
        self.ws()
        if self.s[self.i : self.i + 1] == "]":
            self.i += 1
            return out
        while True:
            out.items.append(self.value(depth + 1))
            self.ws()
            c = self.s[self.i : self.i + 1]
            self.i += 1
            if c == "]":
                return out
            if c != ",":
                raise ValueError("comma")


def _inner(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def parse(body: bytes) -> Node | None:
    """The tree of ``body``, or None when it is not JSON (byte damage only, then)."""
    try:
        text = body.decode()
        json.loads(text)  # the syntax, in C; the tree below keeps what this loses
        p = _Parser(text)
        node = p.value()
        p.ws()
        return node if p.i == len(p.s) else None
    except (ValueError, IndexError, RecursionError):
        return None


def dump(node: Node, style: str = "") -> str:
    """The JSON text; ``style`` "" compact, " " spaced, "\\n" one member per line."""
    sep, colon = ("," + style, ":" + (" " if style else ""))
    if isinstance(node, Str):
        return node.raw if node.raw is not None else json.dumps(node.text, ensure_ascii=False)
    if isinstance(node, Num | Lit):
        return node.raw
    if isinstance(node, Arr):
        return "[" + sep.join(dump(v, style) for v in node.items) + "]"
    return "{" + sep.join(dump(k, style) + colon + dump(v, style) for k, v in node.members) + "}"


def clone(node: N) -> N:
    out: Node
    if isinstance(node, Arr):
        out = Arr([clone(v) for v in node.items])
    elif isinstance(node, Obj):
        out = Obj([(clone(k), clone(v)) for k, v in node.members])
    elif isinstance(node, Str):
        out = Str(node.text, node.raw)
    else:
        out = node  # numbers and literals are replaced, never changed in place
    return cast(N, out)


# -- where things are ----------------------------------------------------------------------


def walk(node: Node, depth: int = 0) -> list[tuple[Node, int]]:
    """Every node with its depth, iteratively (a deep tree must not recurse)."""
    out: list[tuple[Node, int]] = []
    stack = [(node, depth)]
    while stack:
        n, d = stack.pop()
        out.append((n, d))
        if isinstance(n, Arr):
            stack += [(v, d + 1) for v in n.items]
        elif isinstance(n, Obj):
            stack += [(v, d + 1) for _, v in n.members]
    return out


def objects(node: Node) -> list[Obj]:
    return [n for n, d in walk(node) if isinstance(n, Obj) and d < 40]


def members_named(node: Node, name: str) -> list[tuple[Obj, int]]:
    return [(o, i) for o in objects(node) for i, (k, _) in enumerate(o.members) if k.text == name]


def lines_of(node: Node) -> list[Obj]:
    """The feedetail items (every feedetail array, repeated ones too)."""
    out: list[Obj] = []
    for o, i in members_named(node, "feedetail"):
        v = o.members[i][1]
        if isinstance(v, Arr):
            out += [x for x in v.items if isinstance(x, Obj)]
    return out


# -- values at the boundaries --------------------------------------------------------------

DATES = [
    "2026-11-20",
    "1990-01-01",
    "1989-12-31",
    "2100-12-31",
    "9999-12-31",
    "0001-01-01",
    "2026-02-29",
    "2024-02-29",
    "2026-13-01",
]


def amount(rnd: random.Random) -> Node:
    """An amount at a boundary: integer digits 1/15/16/17/18, decimals 0-3, signs,
    exponents, leading zeros, commas and spaces, as a number or a string."""
    digits = rnd.choice((1, 1, 2, 15, 16, 16, 17, 18))
    some = str(rnd.randrange(10**digits))
    whole = rnd.choice(("0", "9" * digits, "1" + "0" * (digits - 1), some))
    decimals = rnd.choice((0, 1, 2, 2, 3))
    fraction = "".join(rnd.choice("0123456789") for _ in range(decimals))
    text = whole + ("." + fraction if decimals else "")
    roll = rnd.randrange(12)
    if roll == 0:
        text = "-" + text
    elif roll == 1:
        text += rnd.choice(("e2", "E-1", "e+0", "e400", "E-400"))
    elif roll == 2:
        text = "0" + text
    elif roll == 3:
        text = text.replace(".", ",") if "." in text else text[:1] + "," + text[1:]
    elif roll == 4:
        text = rnd.choice(("1,2.34", " 1.00", "1.00 ", "+1.00", ".5", "1.", "NaN", "Infinity"))
    as_string = rnd.random() < 0.4
    if as_string:
        return Str(text)
    try:
        json.loads(text)
    except ValueError:
        return Str(text)
    return Num(text)


def fee_time(rnd: random.Random, tomorrow: str, after: str) -> Str:
    day = rnd.choice([*DATES, tomorrow, tomorrow, after, after])
    roll = rnd.randrange(8)
    if roll == 0:
        return Str(day)
    if roll == 1:
        return Str(day + "T09:12:00")
    return Str(day + " 09:12:00")


def code(rnd: random.Random, known: list[str]) -> Str:
    roll = rnd.randrange(10)
    if roll < 5 and known:
        return Str(rnd.choice(known))
    return Str(
        rnd.choice(
            (
                "",
                "YB",
                "YB" + "1" * 40,
                "YB" + "1" * 62,
                "YB" + "1" * 63,
                "YB" + "1" * 400,
                "D330100000006",
                "yb" + "1" * 24,
                "YB中文1",
                "YB\u00e9",
            )
        )
    )


def scalar(rnd: random.Random) -> Node:
    return rnd.choice(
        (
            Lit("null"),
            Lit("true"),
            Num("0"),
            Num("-1"),
            Num("1e309"),
            Str(""),
            Str("x" * rnd.choice((1, 30, 31, 64, 65))),
            Obj(),
            Arr(),
        )
    )


def nested(rnd: random.Random, inner: Node) -> Node:
    node = inner
    for _ in range(rnd.choice((63, 64, 65, 66, 130))):
        node = Arr([node]) if rnd.random() < 0.5 else Obj([(Str("a"), node)])
    return node


# -- the mutations -------------------------------------------------------------------------


class Mutator:
    """``mutate(body)``: a new message from ``body`` by 1-4 structure-aware steps (or
    byte damage when ``body`` is not JSON). ``known``: codes the registry holds."""

    def __init__(self, rnd: random.Random, known: list[str], tomorrow: str, after: str) -> None:
        self.rnd, self.known, self.tomorrow, self.after = rnd, known, tomorrow, after
        # (step, weight): what keeps the message a fee upload comes more often than what
        # breaks it, so that most mutants still reach the C judge
        weighted = [
            (self.repeat_key, 3),
            (self.repeat_feedetail, 4),
            (self.repeat_input, 2),
            (self.reorder, 4),
            (self.splice, 1),
            (self.escape, 2),
            (self.boundary_amount, 6),
            (self.boundary_date, 4),
            (self.many_days, 1),
            (self.many_lines, 2),
            (self.retype, 1),
            (self.nest, 1),
            (self.drop, 1),
            (self.recode, 5),
            (self.wrapper_field, 2),
        ]
        self.steps = [step for step, w in weighted for _ in range(w)]

    def mutate(self, body: bytes) -> bytes:
        rnd = self.rnd
        tree = parse(body)
        if tree is None or rnd.random() < 0.05:
            return self.bytes_damage(body)
        for _ in range(rnd.choice((1, 1, 1, 2, 2, 3))):
            rnd.choice(self.steps)(tree)
        out = dump(tree, rnd.choice(("", "", "", " ", "\n"))).encode()
        out = out.replace(b'"DEEP"', b"[" * 1100 + b"]" * 1100)
        if rnd.random() < 0.08:
            out = self.bytes_damage(out)
        return out

    def bytes_damage(self, body: bytes) -> bytes:
        rnd = self.rnd
        for _ in range(rnd.choice((1, 2, 3))):
            at = rnd.randrange(len(body) + 1)
            noise = bytes([rnd.choice(b'{}[],:"\\ 0a.-e\t\n\xe4\x00\xff1')])
            op = rnd.randrange(4)
            if op == 0:
                body = body[:at] + body[at + 1 :]
            elif op == 1:
                body = body[:at] + noise + body[at:]
            elif op == 2:
                body = body[:at] + noise + body[at + 1 :]
            else:
                body = body[:at]
        return body

    def _pick_obj(self, tree: Node) -> Obj | None:
        objs = [o for o in objects(tree) if o.members]
        return self.rnd.choice(objs) if objs else None

    def repeat_key(self, tree: Node) -> None:
        o = self._pick_obj(tree)
        if o is None:
            return
        k, v = self.rnd.choice(o.members)
        value = clone(v) if self.rnd.random() < 0.5 else scalar(self.rnd)
        o.members.insert(self.rnd.randrange(len(o.members) + 1), (clone(k), value))

    def _lines(self, tree: Node, n: int) -> Arr:
        items = lines_of(tree)
        if not items:
            return Arr()
        out: list[Node] = []
        for j in range(n):
            ln = clone(self.rnd.choice(items))
            for i, (k, _) in enumerate(ln.members):
                if k.text == "feedetl_sn":
                    ln.members[i] = (k, Str(f"R{j}"))
            out.append(ln)
        return Arr(out)

    def repeat_feedetail(self, tree: Node) -> None:
        """``input.feedetail`` again, with an array around the scanner's 32-line buffer,
        before or after the first."""
        places = members_named(tree, "feedetail")
        if not places:
            return
        o, i = self.rnd.choice(places)
        n = self.rnd.choice((0, 1, 2, 31, 32, 33, 40, 64, 65, 200))
        at = i + 1 if self.rnd.random() < 0.7 else i
        o.members.insert(at, (Str("feedetail"), self._lines(tree, n)))

    def repeat_input(self, tree: Node) -> None:
        places = members_named(tree, "input")
        if not places:
            return
        o, i = self.rnd.choice(places)
        again = clone(o.members[i][1])
        if isinstance(again, Obj) and self.rnd.random() < 0.7:  # a short input
            again.members = [(Str("feedetail"), self._lines(tree, self.rnd.choice((1, 33, 70))))]
        o.members.insert(i + self.rnd.randrange(2), (Str("input"), again))

    def reorder(self, tree: Node) -> None:
        o = self._pick_obj(tree)
        if o is not None:
            self.rnd.shuffle(o.members)

    def splice(self, tree: Node) -> None:
        """An array (or its items) moved across keys: a feedetail array under another key,
        another array's items into feedetail."""
        arrays = [n for n, d in walk(tree) if isinstance(n, Arr) and d < 40]
        o = self._pick_obj(tree)
        if not arrays or o is None:
            return
        src = clone(self.rnd.choice(arrays))
        if self.rnd.random() < 0.5:
            i = self.rnd.randrange(len(o.members))
            o.members[i] = (o.members[i][0], src)
        else:
            dst = self.rnd.choice(arrays)
            at = self.rnd.randrange(len(dst.items) + 1)
            dst.items[at:at] = src.items[: self.rnd.choice((1, 2, 40))]

    def escape(self, tree: Node) -> None:
        """One character of a key or a value written as a JSON escape (``\\uXXXX`` of the
        character itself, or a character that must be escaped put in its place)."""
        strings = [n for n, _ in walk(tree) if isinstance(n, Str)]
        strings += [k for o in objects(tree) for k, _ in o.members]
        if not strings:
            return
        s = self.rnd.choice(strings)
        text = s.text or "x"
        at = self.rnd.randrange(len(text))
        own = text[at] if ord(text[at]) < 0x10000 else "中"
        ch, esc = self.rnd.choice(
            (
                (own, f"\\u{ord(own):04x}"),
                ('"', '\\"'),
                ("\\", "\\\\"),
                ("/", "\\/"),
                ("\n", "\\n"),
                ("中", "\\u4e2d"),
            )
        )
        new = text[:at] + ch + text[at + 1 :]
        s.text = new
        s.raw = '"' + _inner(new[:at]) + esc + _inner(new[at + 1 :]) + '"'

    def _set(self, tree: Node, name: str, make: Callable[[], Node]) -> None:
        places = members_named(tree, name)
        if places:
            o, i = self.rnd.choice(places)
            o.members[i] = (o.members[i][0], make())

    def boundary_amount(self, tree: Node) -> None:
        for _ in range(self.rnd.choice((1, 1, 3))):
            self._set(tree, "det_item_fee_sumamt", lambda: amount(self.rnd))

    def boundary_date(self, tree: Node) -> None:
        self._set(tree, "fee_ocur_time", lambda: fee_time(self.rnd, self.tomorrow, self.after))

    def many_days(self, tree: Node) -> None:
        """Lines over 127, 128 or 129 distinct service dates."""
        for o, i in members_named(tree, "feedetail"):
            arr = o.members[i][1]
            if not isinstance(arr, Arr) or not arr.items:
                continue
            n = self.rnd.choice((127, 128, 129))
            items = self._lines(tree, n).items
            for j, ln in enumerate(items):
                assert isinstance(ln, Obj)
                for m, (k, _) in enumerate(ln.members):
                    if k.text == "fee_ocur_time":
                        day = 1 + j % 28
                        ln.members[m] = (k, Str(f"{2020 + j // 28}-01-{day:02d} 10:00:00"))
            o.members[i] = (o.members[i][0], Arr(items))
            return

    def many_lines(self, tree: Node) -> None:
        """feedetail at the line bound (the harness varies max_lines around these)."""
        places = members_named(tree, "feedetail")
        if places:
            o, i = self.rnd.choice(places)
            n = self.rnd.choice((1, 19, 20, 21, 32, 33, 199, 200, 201))
            o.members[i] = (o.members[i][0], self._lines(tree, n))
            if self.rnd.random() < 0.2:  # a repeated feedetl_sn
                arr = o.members[i][1]
                assert isinstance(arr, Arr)
                if len(arr.items) > 1:
                    arr.items[-1] = clone(arr.items[0])

    def retype(self, tree: Node) -> None:
        o = self._pick_obj(tree)
        if o is not None:
            i = self.rnd.randrange(len(o.members))
            o.members[i] = (o.members[i][0], scalar(self.rnd))

    def nest(self, tree: Node) -> None:
        o = self._pick_obj(tree)
        if o is not None and max(d for _, d in walk(tree)) < 70:
            i = self.rnd.randrange(len(o.members))
            if self.rnd.random() < 0.5:  # an ignored field, nested deep (msgspec's limit too)
                deep = nested(self.rnd, Num("1"))
                if self.rnd.random() < 0.2:
                    deep = Str("DEEP")  # replaced in the text: 1,100 levels
                o.members.insert(i, (Str("ext"), deep))
            else:
                o.members[i] = (o.members[i][0], nested(self.rnd, o.members[i][1]))

    def drop(self, tree: Node) -> None:
        o = self._pick_obj(tree)
        if o is not None:
            del o.members[self.rnd.randrange(len(o.members))]

    def recode(self, tree: Node) -> None:
        for _ in range(self.rnd.choice((1, 3))):
            self._set(tree, "bilg_dr_codg", lambda: code(self.rnd, self.known))
        if self.rnd.random() < 0.3:
            self._set(tree, "feedetl_sn", lambda: Str(self.rnd.choice(("", "1", "中", "x" * 65))))

    def wrapper_field(self, tree: Node) -> None:
        choices: tuple[tuple[str, list[Node]], ...] = (
            ("infno", [Str("2204"), Str("2301"), Str("5102"), Str("22045"), Num("2204")]),
            ("msgid", [Str(""), Str("m"), Str("m" * 30), Str("m" * 31), Lit("null")]),
            ("med_type", [Str("13"), Str("24"), Lit("null"), Num("13"), Str("123456789")]),
            ("fixmedins_code", [Str("H1"), Str("H2"), Str(""), Str("H" * 33)]),
        )
        name, values = self.rnd.choice(choices)
        if name == "med_type" and self.rnd.random() < 0.5:
            self._set(tree, name, lambda: self.rnd.choice(values))
            return
        if isinstance(tree, Obj):
            for i, (k, _) in enumerate(tree.members):
                if k.text == name:
                    tree.members[i] = (k, self.rnd.choice(values))
                    return
            tree.members.append((Str(name), self.rnd.choice(values)))
