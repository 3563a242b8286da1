"""python -m ingest: consume order events from Kafka into ClickHouse (settings from the environment)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ingest.consumer import KafkaUnreachable
from ingest.run import run_ingest
from orderstream.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("--exit-when-idle", action="store_true",
                        help="exit once everything up to the end of every assigned partition is written and committed")
    parser.add_argument("--instances", type=int, default=1,
                        help="consumers of the group run as threads of this process (embedded mode)")
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")

    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        logging.getLogger("ingest").info("signal %s: flushing, committing and closing", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        totals = run_ingest(settings, stop, instances=args.instances, exit_when_idle=args.exit_when_idle)
    except KafkaUnreachable as exc:
        print(f"ingest: {exc} (KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers})", file=sys.stderr)
        return 1
    print(f"ingest: {totals['messages']} messages, {totals['events']} events, {totals['errors']} dead letters",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
