"""Server mode under test: every part in its own OS process, talking clickhouse-connect HTTP to ClickHouse.

No ClickHouse server binary can be installed here and embedded chDB admits one process per data
directory, so a test double (tests/support/chdb_http.py, its own process) serves the ClickHouse HTTP
interface in front of the real engine. Through it run, as separate processes: the migrations CLI
(`clickhouse-migrations --driver clickhouse-connect`, twice at once), `python -m orderstream.migrate`,
the generator, several `python -m ingest` replicas of one consumer group (one killed with SIGKILL, others
joining and leaving), and the dashboard's queries over the read-only connection. The views must end
exactly equal to ground truth computed in Python from the messages on the topic.

What the double does NOT model, so what these tests cannot catch:
- authentication, users and grants: the read-only user is emulated by its settings (`readonly=2`, what
  `orderstream.clickhouse.connect(readonly=True)` sends in server mode without CLICKHOUSE_READONLY_USER);
  a real CLICKHOUSE_READONLY_USER's password or profile is never checked;
- real concurrency: one lock serializes all requests, so races inside the server (parallel inserts into
  one table, merges racing reads) do not happen here; races between client processes (two migrations,
  two ingests, a kill mid-request) do;
- HTTP sessions: `session_id` is accepted and ignored, every request starts from default settings, so a
  `SET` sent through a session does not persist as it would on a server (product code must not rely on
  it, and does not);
- `DateTime` in non-UTC zones: the double runs with TZ=UTC, the server timezone the product assumes;
  client behaviour for a server in another zone is untested;
- compressed responses, progress headers, the Native protocol revision of `client_protocol_version`
  (the client's probe fails and it falls back to revision 0), `KeeperMap` (so no `--lock`).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from orderstream.clickhouse import connect
from orderstream.settings import Settings
from tests import kafka_io
from tests.ground_truth import (
    diff_views,
    expected_dead_letters,
    expected_views,
    read_dead_letters,
    read_views,
    valid_events,
)

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
PYTHON = sys.executable
MIGRATIONS_CLI = str(Path(sys.executable).with_name("clickhouse-migrations"))


# --- fixtures -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def double(tmp_path_factory) -> int:
    """The ClickHouse HTTP double as its own process on a free port; yields the port."""
    path = tmp_path_factory.mktemp("chdb-server")
    log = open(path / "server.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [PYTHON, "-u", "-m", "tests.support.chdb_http", "--port", "0", "--path", str(path / "data")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, env={**os.environ, "TZ": "UTC"},
    )
    try:
        line = proc.stdout.readline().decode()
        match = re.search(r"listening on [\d.]+:(\d+)", line)
        assert match, f"the double did not start: {line!r}"
        yield int(match.group(1))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def database() -> str:
    return f"srv_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def server_settings(double, database) -> Settings:
    """Product settings for server mode against the double (explicit values win over the environment)."""
    return Settings(clickhouse_host="127.0.0.1", clickhouse_port=double, clickhouse_database=database)


def server_client(port: int, database: str | None = None, **kwargs):
    return clickhouse_connect.get_client(host="127.0.0.1", port=port, database=database, **kwargs)


def process_env(port: int, database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CHDB_PATH"}
    env.update(CLICKHOUSE_HOST="127.0.0.1", CLICKHOUSE_PORT=str(port), CLICKHOUSE_DATABASE=database,
               PYTHONUNBUFFERED="1", **extra)
    return env


def migrations_cli(port: int, database: str) -> list[str]:
    return [MIGRATIONS_CLI, "migrate", "--driver", "clickhouse-connect", "--db-host", "127.0.0.1",
            "--db-port", str(port), "--db-name", database, "--migrations-dir", str(MIGRATIONS),
            "--create-db-if-not-exists"]


def schema_objects() -> set[str]:
    """Every table and view the migration files create."""
    names = set()
    for file in MIGRATIONS.glob("*.sql"):
        names |= set(re.findall(r"CREATE\s+(?:MATERIALIZED\s+)?(?:TABLE|VIEW)\s+IF\s+NOT\s+EXISTS\s+(\w+)",
                                file.read_text(), re.IGNORECASE))
    return names


def migration_versions() -> dict[int, str]:
    return {int(f.name.split("_")[0]): hashlib.md5(f.read_bytes()).hexdigest() for f in MIGRATIONS.glob("*.sql")}


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- the double speaks the protocol clickhouse-connect needs ------------------------------------------

@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
def test_inserts_and_queries_round_trip_with_each_compression(double, database, compress):
    admin = server_client(double)
    admin.command(f"CREATE DATABASE {database}")
    client = server_client(double, database, compress=compress)
    client.command("CREATE TABLE t (id UInt64, name String, price Decimal(38, 9), cur LowCardinality(String), "
                   "at DateTime64(7, 'UTC')) ENGINE = MergeTree ORDER BY id")
    rows = [[i, f"név {i}\t\n'", Decimal(f"{i}.{i:09d}"), ("RUB", "KZT")[i % 2],
             datetime.datetime(2026, 11, 28, 22, 0, i % 60, 1234)] for i in range(3000)]
    # The body is streamed chunked, compressed block by block: five blocks make five frames.
    context = client.create_insert_context("t", column_names=["id", "name", "price", "cur", "at"], data=rows)
    context.block_row_count = 700
    summary = client.insert(context=context)
    assert summary.written_rows == 3000

    stored = client.query("SELECT id, name, price, cur, at FROM t ORDER BY id").result_rows
    assert [list(r) for r in stored] == rows
    assert client.query("SELECT count() FROM t WHERE cur = {c:String} AND id >= {low:UInt64}",
                        parameters={"c": "KZT", "low": 1000}).result_rows == [(1000,)]
    assert client.query_arrow("SELECT id FROM t ORDER BY id LIMIT 3").column("id").to_pylist() == [0, 1, 2]
    assert client.query("SELECT id, name FROM t LIMIT 0").column_names == ("id", "name")
    assert client.command("SELECT count() FROM t") == 3000
    assert client.command("SELECT 1 WHERE 0") == ""  # an empty result set, not a summary


def test_settings_do_not_leak_and_multi_statements_are_refused(double, database):
    client = server_client(double)
    client.command(f"CREATE DATABASE {database}")
    default = client.command("SELECT getSetting('max_block_size')")
    assert client.command("SELECT getSetting('max_block_size')", settings={"max_block_size": 1234}) == 1234
    assert client.command("SELECT getSetting('max_block_size')") == default != 1234
    # USE through one request does not change the next request's database either.
    client.command(f"USE {database}")
    assert client.command("SELECT currentDatabase()") == "default"

    with pytest.raises(DatabaseError) as refused:
        client.command(f"SELECT 1; CREATE TABLE {database}.sneaky (a UInt8) ENGINE = Memory")
    assert refused.value.code == 62
    assert client.command(f"EXISTS TABLE {database}.sneaky") == 0


# --- acceptance: errors surface as clickhouse-connect's normal DatabaseError ---------------------------

def test_bad_sql_and_writes_under_read_only_settings_raise_database_error(server_settings, database):
    writer = connect(server_settings, database=False)
    writer.command(f"CREATE DATABASE {database}")
    writer = connect(server_settings)
    writer.command("CREATE TABLE kv (k UInt64, v String) ENGINE = MergeTree ORDER BY k")
    writer.insert("kv", [[1, "one"]], column_names=["k", "v"])

    with pytest.raises(DatabaseError) as syntax:
        writer.query("SELEC k FROM kv")
    assert syntax.value.code == 62 and "SYNTAX_ERROR" in str(syntax.value)
    with pytest.raises(DatabaseError) as unknown:
        writer.query("SELECT k FROM no_such_table")
    assert unknown.value.code == 60

    # The product's read-only connection (server mode, no CLICKHOUSE_READONLY_USER) sends readonly=2.
    reader = connect(server_settings, readonly=True)
    assert reader.query("SELECT v FROM kv WHERE k = {k:UInt64}", parameters={"k": 1}).result_rows == [("one",)]
    attempts = {
        "insert": lambda: reader.insert("kv", [[2, "two"]], column_names=["k", "v"]),
        "insert values": lambda: reader.command("INSERT INTO kv VALUES (3, 'three')"),
        "create": lambda: reader.command("CREATE TABLE evil (a UInt8) ENGINE = Memory"),
        "drop": lambda: reader.command("DROP TABLE kv"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(DatabaseError) as refused:
            attempt()
        assert refused.value.code == 164, what  # READONLY
    strict = server_client(server_settings.clickhouse_port, database, settings={"readonly": 1})
    with pytest.raises(DatabaseError) as refused:
        strict.insert("kv", [[4, "four"]], column_names=["k", "v"])
    assert refused.value.code == 164
    assert writer.query("SELECT k, v FROM kv ORDER BY k").result_rows == [(1, "one")]
    assert writer.command("EXISTS TABLE evil") == 0
    # ...and the read-only settings of those requests did not stick to the server.
    writer.insert("kv", [[5, "five"]], column_names=["k", "v"])
    assert writer.command("SELECT count() FROM kv") == 2


# --- migrations as processes ---------------------------------------------------------------------------

def test_migration_processes_at_once_leave_a_whole_schema(double, database, server_settings):
    cli = migrations_cli(double, database)
    product = [PYTHON, "-m", "orderstream.migrate"]  # what ingest and the dashboard run at start
    env = process_env(double, database)
    runs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for cmd in (cli, cli, product)]
    outputs = [(p.wait(120), p.stdout.read().decode(errors="replace")) for p in runs]
    # Every statement is idempotent and the double interleaves them statement by statement: all succeed.
    assert [rc for rc, _ in outputs] == [0, 0, 0], outputs

    client = connect(server_settings)
    tables = {name for (name,) in client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows}
    assert schema_objects() | {"schema_versions"} <= tables
    recorded = client.query("SELECT DISTINCT version, md5 FROM schema_versions").result_rows
    assert dict(recorded) == migration_versions()
    # The race may leave duplicate bookkeeping rows; that is not corruption: the product's migrate and a
    # further CLI run both see every migration applied and apply nothing.
    again = subprocess.run(product, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "(0 applied now)" in again.stdout
    again = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert client.command("SELECT count(DISTINCT version) FROM schema_versions") == len(migration_versions())
    # ...and the schema works: an event inserted now reaches every mart through its materialized view.
    client.insert("order_events", [[1, "Delivered", 0, 0, 1, 1, 2_000_001, 3, "RUB", 10, 500_000_000, "t", 0, 0]],
                  column_names=["order_id", "status", "position", "moment", "user_id", "warehouse_id", "item_id",
                                "quantity", "currency", "units", "nanos", "kafka_topic", "kafka_partition",
                                "kafka_offset"])
    assert client.query("SELECT sold FROM sales_by_item").result_rows == [(3,)]
    assert client.query("SELECT seller_id, delivered_revenue FROM seller_payouts").result_rows == [
        (2, Decimal("31.5"))]
    assert client.command("SELECT count() FROM revenue_by_currency") == 1


# --- the whole pipeline as processes -------------------------------------------------------------------

INVALID = [
    (None, b'{"order_id": 5, "status": "Created"}'),
    (b"\x00" * 8, b"{}"),
    (b"k", None),
    (None, b"not json at all \xff"),
    (b"42", b'{"order_id": 42, "status": "Shipped", "positions": []}'),
]


def make_topic(bootstrap: str) -> str:
    name = f"srv_{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)]).values():
        future.result(30)
    return name


def assignments(log_path: Path) -> list[list[int]]:
    """The partitions an ingest process logged as assigned, one list per rebalance."""
    found = re.findall(r"ingest\.consumer: assigned \[([\d, ]*)\]", log_path.read_text(errors="replace"))
    return [[int(p) for p in one.split(",") if p.strip()] for one in found]


def assigned_partitions(log_path: Path) -> list[int]:
    found = assignments(log_path)
    return found[-1] if found else []


def test_end_to_end_as_processes_with_kill_and_rebalances(double, database, server_settings, kafka_bootstrap,
                                                         tmp_path):
    topic = make_topic(kafka_bootstrap)
    env = process_env(double, database, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, KAFKA_TOPIC=topic,
                      KAFKA_GROUP_ID=f"grp_{uuid.uuid4().hex[:10]}", INGEST_BATCH_SIZE="500",
                      INGEST_BATCH_SECONDS="0.2", LOG_LEVEL="INFO")
    procs: dict[str, subprocess.Popen] = {}

    def start(name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return procs[name]

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in tmp_path.glob("*.log"))

    try:
        # The Docker stack's one-shot migrate service.
        migrated = subprocess.run(migrations_cli(double, database), cwd=ROOT, capture_output=True, text=True,
                                  timeout=120)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        client = connect(server_settings)

        generator = start("generator", [PYTHON, "-m", "generator", "--count", "20000", "--seed", "7",
                                        "--duplicates", "0.03", "--quiet", "--rate", "2000",
                                        "--start", "2026-11-28T22:00:00Z", "--step-ms", "30000"])
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        for key, value in INVALID:
            producer.produce(topic, key=key, value=value)
        assert producer.flush(30) == 0

        def rows_in(partitions: list[int]) -> int:
            return client.command("SELECT count() FROM order_events WHERE kafka_partition IN "
                                  f"({','.join(map(str, partitions)) or 'NULL'})")

        # Replica A alone, then replica B joins the group: the first rebalance. Each runs the product's
        # migrate at start, against the schema the CLI made.
        start("ingest_a", [PYTHON, "-m", "ingest"])
        wait_for(lambda: rows_in([0, 1, 2]), 60, f"replica A to write rows\n{logs()}")
        start("ingest_b", [PYTHON, "-m", "ingest"])
        wait_for(lambda: assigned_partitions(tmp_path / "ingest_b.log"), 60, f"replica B to get partitions\n{logs()}")
        a_log = tmp_path / "ingest_a.log"
        a_owns = wait_for(lambda: len(assignments(a_log)) >= 2 and assigned_partitions(a_log), 60,
                          f"replica A's share after the rebalance\n{logs()}")
        # Kill -9 replica A while it is writing: rows of its partitions keep arriving after the rebalance
        # (only A owns them now), and the stream has not ended.
        before = rows_in(a_owns)
        wait_for(lambda: rows_in(a_owns) > before, 60, f"replica A to write after the rebalance\n{logs()}")
        assert generator.poll() is None, "the stream ended before the kill: it would not be mid-run"
        procs["ingest_a"].send_signal(signal.SIGKILL)
        assert procs["ingest_a"].wait(10) == -signal.SIGKILL
        # A third replica joins: another rebalance, while A's partitions are still held by its dead session.
        start("ingest_c", [PYTHON, "-m", "ingest"])

        assert generator.wait(120) == 0, logs()
        # B and C stop gracefully (flush, commit, leave); a last replica drains whatever is left.
        wait_for(lambda: assigned_partitions(tmp_path / "ingest_c.log"), 60, f"replica C to get partitions\n{logs()}")
        for name in ("ingest_b", "ingest_c"):
            procs[name].send_signal(signal.SIGTERM)
        for name in ("ingest_b", "ingest_c"):
            assert procs[name].wait(60) == 0, logs()
        drain = start("ingest_drain", [PYTHON, "-m", "ingest", "--exit-when-idle"])
        assert drain.wait(120) == 0, logs()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    stored = kafka_io.read_all(kafka_bootstrap, topic)
    values = [value for *_, value in stored]
    assert len(stored) >= 20000 + len(INVALID)
    truth = expected_views(valid_events(values))
    problems = diff_views(read_views(client), truth)
    assert not problems, "\n".join(problems)
    assert client.command("SELECT count() FROM order_events") > 0

    # Every rejected message is a dead letter, byte for byte, with its reason and coordinates.
    rejected = expected_dead_letters(stored)
    assert read_dead_letters(client, topic) == rejected
    assert len(rejected) == len(INVALID)

    check_parameterized_reads(server_settings, truth)
    check_dashboard_queries(server_settings, truth, stored)


def check_parameterized_reads(settings: Settings, truth: dict) -> None:
    """Reads of the public views over the read-only connection, parameters bound server-side."""
    reader = connect(settings, readonly=True)
    sales = truth["sales_by_item"]
    sold_by_seller: dict[int, int] = defaultdict(int)
    for item, (_reserved, sold, _canceled, _last) in sales.items():
        sold_by_seller[item // 1_000_000] += sold
    seller = max(sold_by_seller, key=sold_by_seller.get)
    assert reader.query("SELECT sum(sold) FROM sales_by_item WHERE seller_id = {s:UInt64}",
                        parameters={"s": seller}).result_rows == [(sold_by_seller[seller],)]
    top = reader.query("SELECT item_id, sold FROM sales_by_item ORDER BY sold DESC, item_id LIMIT {n:UInt32}",
                       parameters={"n": 5}).result_rows
    assert top == sorted(((i, v[1]) for i, v in sales.items()), key=lambda r: (-r[1], r[0]))[:5]
    payouts = truth["seller_payouts"]
    for (seller_id, currency), (quantity, revenue) in list(payouts.items())[:3]:
        assert reader.query(
            "SELECT delivered_quantity, delivered_revenue FROM seller_payouts "
            "WHERE seller_id = {s:UInt64} AND currency = {c:String}", parameters={"s": seller_id, "c": currency},
        ).result_rows == [(quantity, revenue)]
    days = sorted({day for day, _, _ in truth["revenue_by_currency"]})
    assert len(days) > 1
    first = {(c, s): v for (d, c, s), v in truth["revenue_by_currency"].items() if d == days[0]}
    rows = reader.query("SELECT currency, status, orders, quantity, revenue FROM revenue_by_currency "
                        "WHERE day = {d:Date}", parameters={"d": days[0]}).result_rows
    assert {(c, s): (o, q, r) for c, s, o, q, r in rows} == first
    positions = reader.query("SELECT count() FROM order_events FINAL WHERE moment >= {t:DateTime64(7, 'UTC')}",
                             parameters={"t": "2026-11-28 22:00:00"}).result_rows
    assert positions[0][0] > 0


def check_dashboard_queries(settings: Settings, truth: dict, stored: list) -> None:
    """The dashboard's own query functions (dashboard/queries.py) over its read-only connection."""
    from dashboard import queries

    reader = connect(settings, readonly=True)  # what dashboard.data.client() opens
    everything = queries.Filters(start=datetime.datetime(2000, 1, 1), end=datetime.datetime(2100, 1, 1))
    sales, payouts = truth["sales_by_item"], truth["seller_payouts"]

    for view in queries.RECONCILED_VIEWS:
        assert queries.reconciliation(reader, view).empty, view
    assert queries.reserved_now(reader, everything) == sum(v[0] for v in sales.values())
    page = queries.items_page(reader, everything, "", "sold", True, 5, 0)
    assert list(page["total"]) == [len(sales)] * 5
    assert list(zip(page["item_id"], page["sold"])) == sorted(
        ((i, v[1]) for i, v in sales.items()), key=lambda r: (-r[1], r[0]))[:5]
    page = queries.payouts_page(reader, everything, "", "delivered_revenue", True, 100_000, 0)
    assert {(r.seller_id, r.currency): (r.delivered_quantity, Decimal(str(r.delivered_revenue)))
            for r in page.itertuples()} == payouts
    kpis = queries.kpis(reader, everything)
    total = kpis[kpis["currency"] == ""].iloc[0]
    assert total["items_sold"] == sum(q for q, _ in payouts.values())
    assert queries.dead_letter_count(reader) == len(INVALID)
    offsets = queries.partition_offsets(reader)
    last = defaultdict(int)
    for partition, offset, *_ in stored:
        last[partition] = max(last[partition], offset)
    assert dict(zip(offsets["partition"], offsets["stored_offset"])) == dict(last)

    df, cut = queries.adhoc(reader, "SELECT count() AS n FROM sales_by_item WHERE sold > {m:Int64}", {"m": 0})
    assert not cut and df["n"][0] == sum(1 for v in sales.values() if v[1] > 0)
    with pytest.raises(DatabaseError) as refused:
        queries.adhoc(reader, "INSERT INTO ingest_errors (reason) VALUES ('injected')", {})
    assert refused.value.code == 164
    assert queries.dead_letter_count(reader) == len(INVALID)
