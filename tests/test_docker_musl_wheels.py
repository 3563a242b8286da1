"""SLOW, NETWORK (PyPI): the Alpine build needs no compiler work beyond what the builder stage expects.

Issue 5, requirement 2. Resolves everything the images install (requirements/dashboard.txt, a superset of
pipeline.txt) for the Python of the Dockerfile's base image, then asks PyPI, package by package, for a
musllinux wheel. Whatever has none must be one of the known builder-stage compiles or a pure-Python sdist
(checked by building its wheel here). About a minute on the first run; results are cached in
build/docker-musl-check/ keyed by the requirements and the Python version, so reruns take a second.
Set ORDERSTREAM_SKIP_NETWORK_TESTS=1 to skip it offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "docker-musl-check"
MUSL_PLATFORMS = ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64"]  # Alpine 3.24's musl 1.2 runs both
GLIBC_PLATFORMS = [f"{p}_x86_64" for p in ("manylinux_2_28", "manylinux_2_27", "manylinux_2_24", "manylinux_2_17",
                                           "manylinux2014", "manylinux_2_12", "manylinux2010", "manylinux_2_5",
                                           "manylinux1")]
# Compiled in the Dockerfile's builder stage, where build-base and librdkafka-dev are installed:
#   confluent-kafka: no musllinux wheels at all; built against Alpine's librdkafka (see the Dockerfile).
#   lz4: sdist with bundled C sources, required by clickhouse-connect.
COMPILED_IN_BUILDER = {"confluent-kafka", "lz4"}
# No musllinux wheel, but the sdist builds a py3-none-any wheel (its C extension is macOS-only).
PURE_PYTHON_SDISTS = {"watchdog"}
# In requirements.txt for local embedded use only; the images talk to the ClickHouse server.
NOT_IN_IMAGES = {"chdb"}

pytestmark = pytest.mark.skipif(os.environ.get("ORDERSTREAM_SKIP_NETWORK_TESTS") == "1",
                                reason="ORDERSTREAM_SKIP_NETWORK_TESTS=1: needs PyPI")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def image_python() -> str:
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert base, "ARG PYTHON_IMAGE=python:X.Y-alpine... expected in the Dockerfile"
    return base.group(1)


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)


def dry_run(requirements: list[str], platforms: list[str], python: str, no_deps: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", f"{tmp}/report.json",
                "--target", f"{tmp}/target", "--only-binary=:all:", "--python-version", python,
                "--implementation", "cp", "--disable-pip-version-check"]
        args += [a for p in platforms for a in ("--platform", p)]
        if no_deps:
            args.append("--no-deps")
        result = pip(*args, *requirements)
        if result.returncode != 0:
            return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
        return json.loads(Path(f"{tmp}/report.json").read_text())


def check(python: str) -> dict:
    """{package: wheel file or 'NO MUSL WHEEL'} for every package the images install."""
    report = dry_run(["-r", str(ROOT / "requirements/dashboard.txt")], GLIBC_PLATFORMS, python, no_deps=False)
    assert "error" not in report, f"resolving requirements/dashboard.txt for Python {python}: {report['error']}"
    packages = {normalize(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}

    def musl(item):
        name, version = item
        r = dry_run([f"{name}=={version}"], MUSL_PLATFORMS, python, no_deps=True)
        return name, ("NO MUSL WHEEL" if "error" in r else r["install"][0]["download_info"]["url"].rsplit("/", 1)[-1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        wheels = dict(pool.map(musl, sorted(packages.items())))
    return {"versions": packages, "wheels": wheels}


@pytest.fixture(scope="module")
def results() -> dict:
    python = image_python()
    key = hashlib.sha256(python.encode() + b"".join(
        (ROOT / f).read_bytes() for f in ("requirements/pipeline.txt", "requirements/dashboard.txt"))).hexdigest()[:16]
    cached = CACHE / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    data = {"python": python, **check(python)}
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(data, indent=1, sort_keys=True))
    return data


def test_only_the_expected_packages_lack_a_musllinux_wheel(results):
    missing = {name for name, wheel in results["wheels"].items() if wheel == "NO MUSL WHEEL"}
    unexpected = missing - COMPILED_IN_BUILDER - PURE_PYTHON_SDISTS
    assert not unexpected, (f"no musllinux wheel for Python {results['python']}: {sorted(unexpected)}; pick versions "
                            "with one, or add the compile to the builder stage and to COMPILED_IN_BUILDER")
    stale = (COMPILED_IN_BUILDER | PURE_PYTHON_SDISTS) - missing
    assert not stale, f"these now have musllinux wheels (or are no longer installed): {sorted(stale)}; update the lists"
    for name, wheel in results["wheels"].items():
        if wheel != "NO MUSL WHEEL":
            assert "musllinux" in wheel or wheel.endswith("-any.whl"), (name, wheel)


def test_pure_python_sdists_build_without_a_compiler(results):
    for name in sorted(PURE_PYTHON_SDISTS):
        version = results["versions"][name]
        built = CACHE / "sdist-wheels"
        existing = [p for p in built.glob(f"{name.replace('-', '_')}-{version}-*.whl")] if built.exists() else []
        if not existing:
            r = pip("wheel", "--no-deps", "--no-binary", name, f"{name}=={version}", "-w", str(built))
            assert r.returncode == 0, r.stderr[-2000:]
            existing = list(built.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        assert existing and existing[0].name.endswith("-py3-none-any.whl"), existing


def test_images_install_everything_in_requirements_txt_but_chdb():
    def top_level(path: Path) -> set[str]:
        names = set()
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("-r "):
                names |= top_level(path.parent / line[3:].strip())
            elif line:
                names.add(normalize(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]))
        return names

    local = top_level(ROOT / "requirements.txt")
    images = top_level(ROOT / "requirements/dashboard.txt")
    assert local - images == NOT_IN_IMAGES
