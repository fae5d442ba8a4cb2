"""Which remote-written series tsad keeps: PromQL series selectors.

Prometheus sends everything it scrapes; ``TSAD_REMOTE_WRITE_MATCH`` names what is
worth a band. The syntax is PromQL's instant-vector selector, several separated
by ``;``: ``node_load1; http_requests_total{job="api", code!~"5.."}; {__name__=~"up|go_.*"}``.
A series is kept when it matches any selector (no selector: every series).
Regexes are fully anchored, as in PromQL. PromQL itself has no Python parser on
PyPI, and this grammar is a dozen lines, so it is parsed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_NAME = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)")
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class LabelMatcher:
    """``label op "value"``; an absent label matches as the empty string (PromQL)."""

    label: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"bad regex {self.value!r} for {self.label}: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.label, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = re.fullmatch(self.value, got) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Selector:
    """All of its matchers must hold (the metric name is a ``__name__`` matcher)."""

    matchers: tuple[LabelMatcher, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def __str__(self) -> str:
        return "{" + ", ".join(str(m) for m in self.matchers) + "}"


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_selector(text: str) -> Selector:
    """One selector: ``name``, ``name{...}`` or ``{...}``; ValueError says what is wrong."""
    matchers: list[LabelMatcher] = []
    pos = 0
    name = _NAME.match(text)
    if name is not None:
        matchers.append(LabelMatcher("__name__", "=", name.group(1)))
        pos = name.end()
    rest = text[pos:].strip()
    if rest:
        if not (rest.startswith("{") and rest.endswith("}")):
            raise ValueError(f'{text.strip()!r} is not a series selector like name{{label="v"}}')
        body, at = rest[1:-1], 0
        while at < len(body):
            m = _MATCHER.match(body, at)
            if m is None:
                raise ValueError(f"cannot read a label matcher at {body[at:]!r} in {text!r}")
            matchers.append(LabelMatcher(m.group(1), m.group(2), _unescape(m.group(3))))
            at = m.end()
            if at < len(body):
                if body[at] != ",":
                    raise ValueError(f"expected ',' at {body[at:]!r} in {text!r}")
                at += 1
    if not matchers:
        raise ValueError(f"empty selector in {text!r}")
    return Selector(tuple(matchers))


def parse_selectors(text: str | Sequence[str]) -> list[Selector]:
    """Selectors separated by ``;`` (or already split); blanks are ignored."""
    parts = text.split(";") if isinstance(text, str) else list(text)
    return [parse_selector(p) for p in parts if p.strip()]


def keeps(selectors: Sequence[Selector], labels: Mapping[str, str]) -> bool:
    """Whether a series with these labels is kept (no selectors: always)."""
    return not selectors or any(s.matches(labels) for s in selectors)
