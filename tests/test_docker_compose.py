"""docker-compose.yml meets the containerisation brief (issue 5, requirements 3 to 7).

Read with ruamel.yaml (a dependency of check-jsonschema, in requirements-dev.txt), then validated by the
compose-spec schema and by Debian's `docker-compose config` against .env.example.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "ingest", "generator", "dashboard")
LONG_RUNNING = ("kafka", "clickhouse", "ingest", "generator", "dashboard")
ONE_SHOT = ("kafka-init", "migrate")


def load_compose() -> dict:
    return YAML(typ="safe").load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_of(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test[1:]) if isinstance(test, list) else test


# --- 5. builds, health, ordering, restarts, volumes, ulimits, Kafka ----------------------------------

def test_app_services_are_built_from_the_dockerfile_targets(services):
    targets = {name: services[name]["build"]["target"] for name in APP_SERVICES}
    assert targets == {"migrate": "pipeline", "ingest": "pipeline", "generator": "pipeline", "dashboard": "dashboard"}
    for name in APP_SERVICES:
        assert services[name]["build"]["context"] == "."


def test_every_long_running_service_has_a_healthcheck(services):
    for name in LONG_RUNNING:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
        assert not services[name]["healthcheck"].get("disable"), name
    assert "kafka-broker-api-versions.sh" in healthcheck_command(services["kafka"])
    assert "127.0.0.1" in healthcheck_command(services["clickhouse"])
    assert re.search(r"127\.0\.0\.1:8501/_stcore/health", healthcheck_command(services["dashboard"]))
    assert "healthcheck.py ingest" in healthcheck_command(services["ingest"])


def test_restart_policies(services):
    for name in LONG_RUNNING:
        assert services[name].get("restart") in ("unless-stopped", "always", "on-failure"), name
    for name in ONE_SHOT:
        # A one-shot must exit for good: service_completed_successfully waits for exactly that.
        assert services[name].get("restart") in ("no", None), name


def depends(services, name) -> dict:
    deps = services[name].get("depends_on") or {}
    assert isinstance(deps, dict), f"{name}: depends_on needs the long form with conditions"
    return {dep: spec["condition"] for dep, spec in deps.items()}


def test_start_order_uses_health_and_completion_conditions(services):
    assert depends(services, "kafka-init") == {"kafka": "service_healthy"}
    assert depends(services, "migrate") == {"clickhouse": "service_healthy"}
    for name in ("ingest", "generator"):
        assert depends(services, name)["kafka-init"] == "service_completed_successfully", name
    for dep_cond in depends(services, "ingest").items():
        assert dep_cond[1] in ("service_healthy", "service_completed_successfully")


# --- 7. migrations exactly once, before ingest and dashboard use the database ----------------------------

def test_migrations_run_once_before_the_database_users(services):
    assert services["migrate"]["command"] == ["migrate"]
    assert sum(1 for s in services.values() if s.get("command") == ["migrate"]) == 1
    for name in ("ingest", "dashboard", "generator"):
        assert depends(services, name).get("migrate") == "service_completed_successfully", name
        assert env_of(services[name]).get("MIGRATE_ON_START", "false") == "false", name


def test_named_volumes_for_data_and_dependencies(compose, services):
    declared = set(compose["volumes"])

    def mounts(name):
        return {v.split(":")[0]: v.split(":")[1] for v in services[name].get("volumes", [])}

    assert mounts("kafka").get("kafka-data") == "/var/lib/kafka/data"
    assert env_of(services["kafka"])["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert mounts("clickhouse").get("clickhouse-data") == "/var/lib/clickhouse"
    # 4. The dependencies live on a named volume per role, shared by that role's containers.
    for name in ("migrate", "ingest", "generator"):
        assert mounts(name).get("deps-pipeline") == "/deps", name
    assert mounts("dashboard").get("deps-dashboard") == "/deps"
    for name in ("kafka-data", "clickhouse-data", "deps-pipeline", "deps-dashboard"):
        assert name in declared


def test_clickhouse_nofile_ulimit(services):
    nofile = services["clickhouse"]["ulimits"]["nofile"]
    assert int(nofile["soft"]) >= 262144 and int(nofile["hard"]) >= 262144


def test_kafka_is_official_kraft_with_replication_factor_one(services):
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", kafka["image"]), kafka["image"]
    env = env_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "KAFKA_DEFAULT_REPLICATION_FACTOR"):
        assert str(env[key]) == "1", key


def test_topic_created_with_several_partitions(services):
    init = services["kafka-init"]
    assert init["image"] == services["kafka"]["image"]
    cmd = [str(c) for c in init["command"]]
    assert cmd[0].endswith("kafka-topics.sh") and "--create" in cmd and "--if-not-exists" in cmd
    partitions = cmd[cmd.index("--partitions") + 1]
    default = re.fullmatch(r"\$\{\w+:-(\d+)\}", partitions)
    assert int(default.group(1) if default else partitions) >= 2
    assert cmd[cmd.index("--replication-factor") + 1] == "1"


def test_generator_runs_by_default_and_on_demand(services):
    generator = services["generator"]
    assert "profiles" not in generator, "the generator must start with a plain `docker compose up`"
    assert generator["command"][:3] == ["python", "-m", "generator"]
    doc = (ROOT / "docs/docker.md").read_text()
    assert "docker compose run --rm generator python -m generator --count" in doc


# --- 6. ClickHouse server with an app user and a separate read-only user, from the environment -----------

def test_clickhouse_users_from_environment(services):
    ch = services["clickhouse"]
    assert ch["image"].startswith("clickhouse/clickhouse-server:")
    env = env_of(ch)
    assert env["CLICKHOUSE_USER"].startswith("${CLICKHOUSE_USER")
    assert env["CLICKHOUSE_PASSWORD"].startswith("${CLICKHOUSE_PASSWORD")
    assert env["CLICKHOUSE_READONLY_USER"].startswith("${CLICKHOUSE_READONLY_USER")
    assert str(env["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"]) == "1"
    assert "./docker/clickhouse/initdb:/docker-entrypoint-initdb.d:ro" in ch["volumes"]
    script = (ROOT / "docker/clickhouse/initdb/10-readonly-user.sh").read_text()
    assert "CREATE USER IF NOT EXISTS" in script and "readonly" in script
    assert re.search(r"GRANT SELECT ON [^\n]*\.\* TO", script)
    assert not re.search(r"GRANT (ALL|INSERT|ALTER|CREATE)", script)
    # The dashboard gets the read-only credentials for its SQL page.
    assert "CLICKHOUSE_READONLY_USER" in env_of(services["dashboard"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash needed to run the init script")
def test_readonly_init_script_builds_the_expected_sql(tmp_path):
    """Run the init script with a fake clickhouse-client that records the SQL it is given."""
    fake = tmp_path / "clickhouse-client"
    fake.write_text('#!/bin/sh\necho "ARGS: $*" > "$OUT"\ncat >> "$OUT"\n')
    fake.chmod(0o755)
    out = tmp_path / "out.sql"
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "OUT": str(out), "CLICKHOUSE_USER": "app",
           "CLICKHOUSE_PASSWORD": "pw", "CLICKHOUSE_DB": "shop", "CLICKHOUSE_READONLY_USER": "analyst",
           "CLICKHOUSE_READONLY_PASSWORD": "it's"}
    subprocess.run(["bash", str(ROOT / "docker/clickhouse/initdb/10-readonly-user.sh")], env=env, check=True,
                   capture_output=True)
    sql = out.read_text()
    assert "--host 127.0.0.1 --user app --password pw" in sql
    create = " ".join(sql.split())
    assert "CREATE USER IF NOT EXISTS `analyst` IDENTIFIED WITH sha256_password BY 'it\\'s' SETTINGS readonly = 2," in create
    # The analysts' limits are constraints of the user: a query cannot raise them.
    for limit in ("max_result_rows = 100000 MAX 100000", "result_overflow_mode = 'break' CONST",
                  "max_execution_time = 60 MAX 60", "max_memory_usage = 4000000000 MAX 4000000000;"):
        assert limit in create
    assert "GRANT SELECT ON `shop`.* TO `analyst`;" in sql


# --- validators ------------------------------------------------------------------------------------------

def test_compose_spec_schema():
    tool = shutil.which("check-jsonschema") or str(ROOT / ".venv/bin/check-jsonschema")
    if not Path(tool).exists():
        pytest.fail("check-jsonschema not installed: pip install -r requirements-dev.txt")
    result = subprocess.run([tool, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_config_with_env_example():
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("Debian's docker-compose not installed (CI: apt-get install docker-compose)")
    clean_env = {k: v for k, v in os.environ.items() if not re.match(r"(KAFKA|CLICKHOUSE|INGEST|CHDB)_", k)}
    result = subprocess.run([tool, "--env-file", str(ROOT / ".env.example"), "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, env=clean_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
