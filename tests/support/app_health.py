"""Waiting for a Streamlit app started in a subprocess: test and benchmark support."""

from __future__ import annotations

import subprocess
import time
import urllib.request


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """True once `url`/_stcore/health answers ok; False if the process exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False
