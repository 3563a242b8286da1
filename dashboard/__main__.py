"""`python -m dashboard`: migrate the store, then serve the app with Streamlit in this very process.

In-process matters for embedded chDB: only one process may open the store, so the one-command demo runs
its pipeline threads and then calls `serve()` in its main thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dashboard.config import get_dashboard_settings
from orderstream.migrate import migrate
from orderstream.settings import get_settings

APP = Path(__file__).resolve().parent / "app.py"
log = logging.getLogger(__name__)


def serve(port: int | None = None, address: str | None = None) -> None:
    """Run the dashboard until interrupted; blocks the calling (main) thread. The port and address
    default to DASHBOARD_PORT and DASHBOARD_ADDRESS."""
    from streamlit.web import bootstrap

    config = get_dashboard_settings()
    port = config.port if port is None else port
    address = config.address if address is None else address
    try:
        migrate(get_settings())
    except Exception as exc:  # the app shows a friendly state for an unreachable or unmigrated store
        log.warning("could not migrate before serving the dashboard: %s", exc)
    # Keys as the `streamlit run` flags name them; run() alone does not apply them, load_config_options does.
    flags = {"server_port": port, "server_address": address, "server_headless": True,
             "browser_gatherUsageStats": False, "client_toolbarMode": "viewer"}
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(APP), False, [], flags)


if __name__ == "__main__":
    logging.basicConfig(level=get_settings().log_level)
    serve()
