"""The Streamlit entry: navigation, shared sidebar filters, URL state, and friendly failure states.

Run it with `python -m dashboard` (or `streamlit run dashboard/app.py`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import context, data, filters, queries, states, urlstate

# Not "pages/": Streamlit would treat a pages/ folder beside the entry script as old-style multipage
# and bypass st.navigation.
PAGES_DIR = Path(__file__).resolve().parent / "screens"

st.set_page_config(page_title="Order stream — sales", page_icon=":material/shopping_cart:", layout="wide")

PAGES = [
    # The default page is served at `/` whatever its url_path; the hidden twin below serves the same
    # script at `/overview`, so both (and links shared from either) open the Overview.
    st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", url_path="", default=True),
    st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", url_path="overview",
            visibility="hidden"),
    st.Page(PAGES_DIR / "items.py", title="Items", icon=":material/inventory_2:", url_path="items"),
    st.Page(PAGES_DIR / "sellers.py", title="Sellers", icon=":material/storefront:", url_path="sellers"),
    st.Page(PAGES_DIR / "orders.py", title="Orders", icon=":material/receipt_long:", url_path="orders"),
    st.Page(PAGES_DIR / "health.py", title="Pipeline health", icon=":material/monitor_heart:", url_path="health"),
    st.Page(PAGES_DIR / "sql.py", title="SQL", icon=":material/terminal:", url_path="sql"),
]

urlstate.start_run()
page = st.navigation(PAGES)

try:
    dimensions, problem = data.fetch(queries.dimensions), None
except states.DATA_ERRORS as exc:
    dimensions, problem = queries.Dimensions(0, None, None, (), ()), exc

selection = filters.sidebar(dimensions)
share_area = st.sidebar.container()
notice_area = st.container()
st.sidebar.caption(f"Store: {data.store_label()}")
context.set_current(context.Context(selection, dimensions, problem))

try:
    with states.friendly():
        page.run()
finally:
    # Whatever the page did (even stopping early), the URL and the share link describe this view.
    urlstate.publish()
    with share_area:
        filters.share_box()
    if urlstate.notices():
        with notice_area:
            for text in urlstate.notices():
                st.warning(text, icon=":material/link_off:")
            st.button("Dismiss", key="dismiss_notices", on_click=urlstate.dismiss_notices)
