"""Page and filter state mirrored in the URL query string, so a copied link reproduces the view.

Each stateful widget has a Param whose key is both its Streamlit key and its URL name. On a session's
first sight of a key the value comes from the URL (a bad value falls back to the default with a notice);
at the end of every run the URL is rewritten from the state of the params used in that run, so it
always describes exactly what is on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

_USED = "_url_params_this_run"
_NOTICES = "_url_notices"


@dataclass(frozen=True)
class Param:
    key: str
    default: Any
    parse: Callable[[str], Any] = str  # raises ValueError on text it cannot accept
    dump: Callable[[Any], str] = str


def start_run() -> None:
    st.session_state[_USED] = {}


def adopt(param: Param) -> Any:
    """Make sure the session holds a value for `param` (from the URL the first time) and return it."""
    st.session_state.setdefault(_USED, {})[param.key] = param
    if param.key not in st.session_state:
        st.session_state[param.key] = _from_url(param)
    return st.session_state[param.key]


def _from_url(param: Param) -> Any:
    raw = st.query_params.get(param.key)
    if raw is None:
        return param.default
    try:
        return param.parse(raw)
    except ValueError as exc:
        notice(f"Ignored `{param.key}={raw[:80]}` from the link: {exc}. Using the default instead.")
        return param.default


def notice(text: str) -> None:
    notices = st.session_state.setdefault(_NOTICES, [])
    if text not in notices:
        notices.append(text)


def notices() -> list[str]:
    return list(st.session_state.get(_NOTICES, []))


def dismiss_notices() -> None:
    st.session_state[_NOTICES] = []


def current_query() -> dict[str, str]:
    """The query string for this run's state: only values that differ from their defaults."""
    query = {}
    for key, param in st.session_state.get(_USED, {}).items():
        value = st.session_state.get(key, param.default)
        if value != param.default:
            query[key] = param.dump(value)
    return query


def publish() -> None:
    query = current_query()
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def share_link() -> str:
    base = ""
    try:
        base = (st.context.url or "").split("?")[0]
    except (AttributeError, RuntimeError):
        pass
    text = urlencode(current_query())
    return f"{base}?{text}" if text else base


# ---- parsers shared by pages --------------------------------------------------------------------------


def choice(options) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"expected one of {', '.join(map(str, options))}")
        return text
    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"not within {low}..{high}")
        return value
    return parse


def boolean(text: str) -> bool:
    if text not in ("0", "1", "true", "false"):
        raise ValueError("expected 1 or 0")
    return text in ("1", "true")


def dump_bool(value: bool) -> str:
    return "1" if value else "0"


def id_list_text(text: str) -> str:
    """Comma-separated ids, validated and normalised (the widget holds text)."""
    return ",".join(str(i) for i in parse_ids(text))


def parse_ids(text: str) -> tuple[int, ...]:
    ids = []
    for token in text.replace(" ", ",").split(","):
        if not token:
            continue
        if not token.isascii() or not token.isdigit() or len(token) > 19 or int(token) >= 2**64:
            raise ValueError(f"{token[:30]!r} is not an id")
        ids.append(int(token))
    return tuple(dict.fromkeys(ids))


def search_text(text: str) -> str:
    """Search boxes take id prefixes: digits only, so nothing else can reach a query."""
    text = text.strip()
    if text and (not text.isascii() or not text.isdigit() or len(text) > 19):
        raise ValueError("search takes the leading digits of an id")
    return text
