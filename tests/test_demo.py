"""The one-command embedded run (`python -m demo`, behind `make demo`) on its development broker: what it
leaves in the store equals ground truth for the events it generated."""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import socket
import subprocess
import sys
import urllib.request

from generator.orders import OrderSimulator, Shape
from tests import workload
from tests.conftest import ROOT
from tests.support.app_health import wait_until_healthy
from tests.ground_truth import expected_views, valid_events


def test_demo_pipeline_without_dashboard(tmp_path, samples_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "CLICKHOUSE_"))}
    env.update(CHDB_PATH=str(tmp_path / "chdb"), LOG_LEVEL="WARNING")
    capture = samples_dir / workload.COURSE_SAMPLES
    run = subprocess.run(
        [sys.executable, "-m", "demo", "--no-dashboard", "--history-events", "4000", "--live-events", "300",
         "--rate", "2000", "--seed", "5", "--replay", str(capture)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "DEVELOPMENT broker" in run.stderr  # labelled as what it is

    dump = tmp_path / "views.pickle"
    subprocess.run([sys.executable, "-m", "tests.view_dump", str(dump)], cwd=ROOT, env=env, check=True, timeout=120)
    stored = pickle.loads(dump.read_bytes())

    # The same seeded order streams, regenerated here; their moments follow the clock, their contents don't.
    history = itertools.islice(OrderSimulator(Shape(first_order_id=1_000_000, step_ms=1.0, start_ticks=0), seed=5).events(), 4000)
    live = itertools.islice(OrderSimulator(Shape(first_order_id=1_000_000 + 10**9), seed=6).events(), 300)
    sample_values = [v for _, v in workload.sample_messages(samples_dir, workload.COURSE_SAMPLES)]
    samples = valid_events(sample_values)
    expected = expected_views(list(history) + list(live) + samples)

    quantities = lambda sales: {item: row[:3] for item, row in sales.items()}
    assert quantities(stored["sales_by_item"]) == quantities(expected["sales_by_item"])
    assert stored["seller_payouts"] == expected["seller_payouts"]
    # The capture's malformed messages are kept as dead letters.
    assert len(stored["ingest_errors"]) == len(sample_values) - len(samples) > 0


def test_demo_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path):
    """The full one-command run: pipeline threads and the dashboard in one process, up and healthy, then
    a clean stop on SIGINT (twice: startup imports once raced between the threads)."""
    for attempt in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "CLICKHOUSE_"))}
        env.update(CHDB_PATH=str(tmp_path / "chdb"), LOG_LEVEL="WARNING", DASHBOARD_ADDRESS="127.0.0.1")
        log_path = tmp_path / f"demo-{attempt}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "demo", "--history-events", "2000", "--rate", "200", "--port", str(port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert wait_until_healthy(f"http://127.0.0.1:{port}", process, 90), log_path.read_text()[-3000:]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
                assert page.status == 200
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(60) == 0, log_path.read_text()[-3000:]
        assert "Traceback" not in log_path.read_text()
