"""docker/entrypoint.sh, run without Docker: as an unprivileged user, configured only by environment,
against the embedded store (chDB) instead of the ClickHouse server.

It stands in for the containers: the "image's" dependency environment (VENV_SEED) is a small virtual
environment that sees this repository's .venv packages, the "volume" (DEPS_DIR) a fresh directory.
chDB lets only one process at a time open a data directory, so the concurrent migrations below also
prove the entrypoint's lock: without it, all but one would fail with "Cannot lock file".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker/entrypoint.sh"
MIGRATIONS = sorted(p.name[:3] for p in (ROOT / "migrations").glob("[0-9][0-9][0-9]_*.sql"))
NOBODY = 65534


def unprivileged_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []  # already unprivileged
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    pytest.skip("running as root without setpriv (util-linux): cannot drop privileges for the test")


@pytest.fixture(scope="module")
def workdir():
    """A directory the unprivileged user owns (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="orderstream-entrypoint-"))
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def base_python() -> str:
    """A Python of this minor version the unprivileged user may execute (it plays the image's system Python;
    a pyenv build under root's home is not executable for others)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [getattr(sys, "_base_executable", sys.executable), sys.executable,
                  f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    check = f"import sys; assert sys.version_info[:2] == ({sys.version_info.major}, {sys.version_info.minor})"
    for candidate in candidates:
        if Path(candidate).exists() and subprocess.run(
                [*unprivileged_prefix(), "/bin/sh", "-c", 'exec "$0" -c "$1"', candidate, check],
                capture_output=True).returncode == 0:
            return candidate
    pytest.skip(f"no Python {version} executable by an unprivileged user among {candidates}")


@pytest.fixture(scope="module")
def system_python() -> str:
    return base_python()


@pytest.fixture(scope="module")
def seed(workdir, system_python) -> Path:
    """The image's built environment: a venv whose site-packages point at this repo's .venv packages."""
    seed = workdir / "image" / "venv-seed"
    seed.parent.mkdir()
    subprocess.run([system_python, "-m", "venv", "--without-pip", str(seed)], check=True)
    site = Path(subprocess.run([str(seed / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "orderstream-test.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    Path(f"{seed}.sha256").write_text("image-1\n")
    return seed


def make_env(deps: Path, seed: Path, **extra: str) -> dict[str, str]:
    """Only what a container gets: no CLICKHOUSE_HOST, so the embedded store at CHDB_PATH."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(deps),
        "PYTHONPATH": str(ROOT),
        "DEPS_DIR": str(deps),
        "VENV_SEED": str(seed),
        "SYSTEM_PYTHON": str(seed / "bin/python"),
        "CHDB_PATH": str(deps.parent / "chdb"),
        "CLICKHOUSE_DATABASE": "shop",
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def new_volume(workdir: Path, name: str) -> Path:
    deps = workdir / name / "deps"
    deps.parent.mkdir()
    if os.geteuid() == 0:
        os.chown(deps.parent, NOBODY, NOBODY)
    return deps


def run(env, *command, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([*unprivileged_prefix(), str(ENTRYPOINT), *command], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def schema_versions(env) -> list[tuple[int, int]]:
    """(version, rows) from schema_versions, read by a separate process (one chDB directory per process)."""
    code = ("from orderstream.clickhouse import connect; "
            "rows = connect().query('SELECT version, count() FROM schema_versions GROUP BY version ORDER BY version').result_rows; "
            "print(';'.join(f'{v},{n}' for v, n in rows))")
    python = Path(env["VENV_SEED"]) / "bin/python"
    out = subprocess.run([*unprivileged_prefix(), str(python), "-c", code], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=120).stdout.strip()
    return [tuple(int(x) for x in pair.split(",")) for pair in out.split(";") if pair]


def test_concurrent_starts_migrate_exactly_once(workdir, seed):
    deps = new_volume(workdir, "concurrent")
    env = make_env(deps, seed)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: run(env, "migrate"), range(4)))
    for r in results:
        assert r.returncode == 0, r.stdout + r.stderr
    applied_now = [int(r.stdout.split("(")[1].split()[0]) for r in results]
    assert sorted(applied_now) == [0, 0, 0, len(MIGRATIONS)], [r.stdout for r in results]
    assert schema_versions(env) == [(int(v), 1) for v in MIGRATIONS]
    # The dependency volume was filled once, by whichever start came first.
    copies = sum(r.stderr.count("installing the image's dependencies") for r in results)
    assert copies == 1, [r.stderr for r in results]
    assert (deps / "venv/.seed.sha256").read_text() == "image-1\n"


def test_files_on_the_volume_belong_to_the_unprivileged_user(workdir, seed):
    if os.geteuid() != 0:
        pytest.skip("ownership is only interesting when the test can compare against root")
    deps = new_volume(workdir, "owner")
    r = run(make_env(deps, seed), "true")
    assert r.returncode == 0, r.stderr
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in [deps, *deps.rglob("*")] if not p.is_symlink()}
    assert owners == {(NOBODY, NOBODY)}


def test_service_runs_after_migrations_as_the_entrypoint_process(workdir, seed):
    deps = new_volume(workdir, "service")
    env = make_env(deps, seed, MIGRATE_ON_START="true")
    service = "import os, sys; print('service', os.getpid(), os.geteuid(), sys.prefix, flush=True)"
    proc = subprocess.Popen([*unprivileged_prefix(), str(ENTRYPOINT), "python", "-c", service], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith("migrations up to date"), out
    _, pid, uid, prefix = lines[-1].split()
    # exec'd all the way: the service is the process that was started (tini's child in the container),
    # so the signals tini forwards reach it.
    assert int(pid) == proc.pid
    assert int(uid) != 0
    assert Path(prefix) == deps / "venv", "the service must run on the volume's environment"
    assert schema_versions(env) == [(int(v), 1) for v in MIGRATIONS]


def test_sigterm_reaches_the_service(workdir, seed):
    deps = new_volume(workdir, "signal")
    # os.write, not print: the handler may interrupt the main thread inside a buffered write.
    service = ("import os, signal, time\n"
               "signal.signal(signal.SIGTERM, lambda *_: (os.write(1, b'clean shutdown\\n'), os._exit(0)))\n"
               "os.write(1, b'ready\\n')\n"
               "time.sleep(60)\n")
    proc = subprocess.Popen([*unprivileged_prefix(), str(ENTRYPOINT), "python", "-c", service],
                            env=make_env(deps, seed), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "clean shutdown" in out, out + err


def test_volume_refreshed_when_the_image_changes(workdir, seed):
    deps = new_volume(workdir, "upgrade")
    env = make_env(deps, seed)
    assert run(env, "true").returncode == 0
    venv = deps / "venv"
    (venv / "kept-while-current").write_text("x")
    assert run(env, "true").returncode == 0
    assert (venv / "kept-while-current").exists(), "a current volume must not be copied again"

    # A new image: other dependencies, another stamp. The stale environment must go entirely.
    upgraded = workdir / "upgrade" / "venv-seed-2"
    shutil.copytree(seed, upgraded, symlinks=True)
    (upgraded / "new-dependency").write_text("y")
    Path(f"{upgraded}.sha256").write_text("image-2\n")
    r = run(make_env(deps, upgraded), "true")
    assert r.returncode == 0, r.stderr
    assert "installing the image's dependencies" in r.stderr
    assert (venv / "new-dependency").exists()
    assert not (venv / "kept-while-current").exists()
    assert (venv / ".seed.sha256").read_text() == "image-2\n"


def test_refuses_to_run_without_the_image_stamp(workdir):
    deps = new_volume(workdir, "nostamp")
    r = run(make_env(deps, workdir / "missing-seed"), "true")
    assert r.returncode == 70 and "no dependency stamp" in r.stderr


def test_healthcheck_reports_a_missing_service_or_an_unreachable_broker(tmp_path):
    """docker/healthcheck.py: unhealthy without the service process, and with it but no Kafka to talk to."""
    script = str(ROOT / "docker/healthcheck.py")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
           "CHDB_PATH": str(tmp_path / "chdb")}
    r = subprocess.run([sys.executable, script, "generator"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no `python -m generator` process" in r.stderr, r.stderr
    # A stand-in whose command line reads like the service's.
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m", "generator"])
    try:
        r = subprocess.run([sys.executable, script, "generator"], env=env, capture_output=True, text=True, timeout=60)
    finally:
        stand_in.kill()
        stand_in.wait()
    assert r.returncode == 1 and "unhealthy" in r.stderr and "process" not in r.stderr, r.stderr
    assert subprocess.run([sys.executable, script, "bogus"], env=env, capture_output=True).returncode == 2
