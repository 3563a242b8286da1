"""Container healthcheck for the services without an HTTP endpoint: `healthcheck.py ingest|generator`.

Healthy means the service's process is alive in this container and the systems it needs answer:
Kafka for both, ClickHouse for the ingest. Addresses come from the same environment settings as the
service, so nothing here is specific to one deployment. Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import sys
from pathlib import Path

TIMEOUT_S = 5.0


def _process_running(module: str) -> bool:
    wanted = ["-m", module]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:  # the process ended while we looked
            continue
        if any(args[i : i + 2] == wanted for i in range(len(args) - 1)):
            return True
    return False


def _kafka_ok(settings) -> None:
    from confluent_kafka.admin import AdminClient

    meta = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers}).list_topics(
        settings.kafka_topic, timeout=TIMEOUT_S
    )
    topic = meta.topics.get(settings.kafka_topic)
    if topic is None or topic.error is not None:
        raise RuntimeError(f"topic {settings.kafka_topic}: {topic.error if topic else 'missing'}")


def _clickhouse_ok(settings) -> None:
    from orderstream.clickhouse import connect

    connect(settings).command("SELECT 1")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("ingest", "generator"):
        print("usage: healthcheck.py ingest|generator", file=sys.stderr)
        return 2
    role = argv[0]
    from orderstream.settings import get_settings

    settings = get_settings()
    try:
        if not _process_running(role):
            raise RuntimeError(f"no `python -m {role}` process")
        _kafka_ok(settings)
        if role == "ingest":
            _clickhouse_ok(settings)
    except Exception as exc:  # any failure is "unhealthy", with the reason in `docker inspect`
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
