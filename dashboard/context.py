"""What app.py works out once per run (data dimensions, the sidebar selection) handed to the pages."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard import states
from dashboard.data import refresh_tick
from dashboard.filters import Selection
from dashboard.queries import Dimensions

_KEY = "_page_context"


@dataclass(frozen=True)
class Context:
    selection: Selection
    dimensions: Dimensions
    problem: BaseException | None  # why the dimensions could not be read, if they could not

    @property
    def tick(self) -> int:
        return refresh_tick(self.selection.refresh)


def set_current(context: Context) -> None:
    st.session_state[_KEY] = context


def current() -> Context:
    return st.session_state[_KEY]


def require_data() -> Context:
    """The context for a page that shows figures; stops with a friendly state when there are none."""
    context = current()
    if context.problem is not None:
        states.show_problem(context.problem)
        st.stop()
    if not context.dimensions.rows:
        states.show_empty()
        st.stop()
    return context
