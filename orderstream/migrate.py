"""Apply the numbered SQL files in migrations/ with clickhouse-migrations, on the server or on chDB.

`python -m orderstream.migrate` is what the Docker stack's one-shot migrate service runs; the embedded
demo, the ingest and the dashboard call `migrate()` at start. Every statement is idempotent
(IF NOT EXISTS), so a repeated or concurrent run changes nothing.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from clickhouse_migrations.clickhouse_cluster import ClickhouseCluster
from clickhouse_migrations.connection import CLICKHOUSE_CONNECT

from orderstream.clickhouse import connect
from orderstream.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
log = logging.getLogger(__name__)


def _only_warnings_from_the_library(record: logging.LogRecord) -> bool:
    # clickhouse-migrations logs through the root logger, whole SQL scripts at INFO; the product's own
    # modules log through named loggers, whose records this filter on the root logger never sees.
    return record.levelno >= logging.WARNING


logging.getLogger().addFilter(_only_warnings_from_the_library)


class _OurClientCluster(ClickhouseCluster):
    """clickhouse-migrations over the product's own client factory, so chDB works like the server."""

    def __init__(self, settings: Settings):
        super().__init__(db_name=settings.clickhouse_database, driver=CLICKHOUSE_CONNECT)
        self._settings = settings

    def _connect_client(self, db_name):
        if not db_name:
            return connect(self._settings, database=False)
        return connect(self._settings.model_copy(update={"clickhouse_database": db_name}))


def migrate(settings: Settings | None = None) -> list[str]:
    """Apply pending migrations; return the names of those applied now."""
    s = settings or get_settings()
    applied = _OurClientCluster(s).migrate(s.clickhouse_database, MIGRATIONS_DIR, create_db_if_no_exists=True)
    names = [f"{m.version:03d}" for m in applied]
    for name in names:
        log.info("applied migration %s", name)
    return names


def main() -> int:
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    applied = migrate()
    print(f"migrations up to date ({len(applied)} applied now)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
