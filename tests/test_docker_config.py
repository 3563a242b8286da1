"""All configuration through environment variables (issue 5, requirement 3).

Nothing host-specific or secret in the images' code (a scan of what the Dockerfile copies, outside the
settings modules), nor in the Dockerfile and compose defaults; compose passes every setting through with
a default; .env.example documents every variable compose reads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from orderstream.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Where configuration is read from the environment: the only places allowed to hold defaults like ports.
SETTINGS_MODULES = {"orderstream/settings.py", "dashboard/config.py"}
SERVICE_PORTS = {9092, 9093, 8123, 8443, 9000, 9440, 8501}
HOST_LITERAL = re.compile(r"\blocalhost\b|\b(?!0\.0\.0\.0\b)\d{1,3}(?:\.\d{1,3}){3}\b|^[a-z][\w.-]*:\d{2,5}$")
SECRET_NAME = re.compile(r"passw(or)?d|secret|token|api_?key", re.I)


def image_code_files() -> list[Path]:
    """The source files the Dockerfile copies into the images."""
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M)
    files: list[Path] = []
    for sources in copied:
        for src in sources.split():
            path = ROOT / src
            if path.is_dir():
                files += [p for p in path.rglob("*") if p.suffix in (".py", ".sh", ".sql")]
            elif path.suffix in (".py", ".sh", ".sql"):
                files.append(path)
    return sorted(set(files))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def python_findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = _docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            value = node.value
            if isinstance(value, str) and HOST_LITERAL.search(value.strip()):
                found.append(f"line {node.lineno}: host literal {value!r}")
            if isinstance(value, int) and not isinstance(value, bool) and value in SERVICE_PORTS:
                found.append(f"line {node.lineno}: port {value}")
        # password="...", PASSWORD = "...", {"password": "..."}: a non-empty literal secret.
        pairs = []
        if isinstance(node, ast.keyword) and node.arg:
            pairs.append((node.arg, node.value))
        elif isinstance(node, ast.Assign):
            pairs += [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.Dict):
            pairs += [(k.value, v) for k, v in zip(node.keys, node.values)
                      if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        for name, value in pairs:
            if SECRET_NAME.search(name) and isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                found.append(f"line {value.lineno}: secret {name}={value.value!r}")
    return found


def text_findings(path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0] if path.suffix == ".sh" else line.split("--", 1)[0]
        if HOST_LITERAL.search(code) or re.search(r"\b(%s)\b" % "|".join(map(str, SERVICE_PORTS)), code):
            found.append(f"line {number}: {line.strip()}")
        if re.search(r"passw(or)?d\s*=\s*['\"]?[^'\"\s$]+", code, re.I):
            found.append(f"line {number}: {line.strip()}")
    return found


def test_scan_covers_the_images_code():
    files = {str(p.relative_to(ROOT)) for p in image_code_files()}
    for expected in ("orderstream/settings.py", "docker/entrypoint.sh", "docker/healthcheck.py",
                     "orderstream/clickhouse.py"):
        assert expected in files
    assert any(f.startswith("ingest/") for f in files) and any(f.startswith("generator/") for f in files)


def test_no_hard_coded_hosts_ports_or_passwords_in_image_code():
    problems = {}
    for path in image_code_files():
        rel = str(path.relative_to(ROOT))
        if rel in SETTINGS_MODULES:
            continue
        found = python_findings(path) if path.suffix == ".py" else text_findings(path)
        if found:
            problems[rel] = found
    assert not problems, f"configuration belongs in the settings modules, read from the environment: {problems}"


def test_the_scanner_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""localhost in a docstring is prose."""\n'
                   'connect(host="localhost", port=8123, password="hunter2")\n'
                   'BROKERS = "kafka:9092"\nADDR = "10.1.2.3"\nBIND = "0.0.0.0"\n')
    found = " | ".join(python_findings(bad))
    for needle in ("'localhost'", "port 8123", "secret password='hunter2'", "'kafka:9092'", "'10.1.2.3'"):
        assert needle in found, found
    assert "0.0.0.0" not in found and "docstring" not in found


# --- compose and Dockerfile -------------------------------------------------------------------------

def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def test_no_secrets_in_compose_defaults_or_dockerfile():
    for name, default in re.findall(r"\$\{(\w+):?-([^}]*)\}", compose_text()):
        if SECRET_NAME.search(name):
            assert default == "", f"{name} has a default secret in docker-compose.yml"
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if re.match(r"\s*(ENV|ARG)\b", line) or re.match(r"\s+\w+=", line):
            assert not SECRET_NAME.search(line), f"secret-like setting baked into the image: {line}"
    for key, value in env_example().items():
        if SECRET_NAME.search(key):
            assert value == "", f".env.example must not carry a value for {key}"


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_env_example_documents_every_compose_variable():
    used = set(re.findall(r"\$\{(\w+)", compose_text()))
    documented = env_example()
    assert used <= set(documented), f"missing from .env.example: {sorted(used - set(documented))}"
    assert set(documented) <= used, f"in .env.example but unused by compose: {sorted(set(documented) - used)}"
    lines = (ROOT / ".env.example").read_text().splitlines()
    # Each group of variables is explained by a comment above it.
    for i, line in enumerate(lines):
        if line and not line.startswith("#") and i and not lines[i - 1].strip():
            pytest.fail(f".env.example line {i + 1} ({line}) has no comment above it")


def test_env_example_defaults_match_compose_defaults():
    documented = env_example()
    for name, default in re.findall(r"\$\{(\w+):-([^}]*)\}", compose_text()):
        assert documented[name] == default, f"{name}: .env.example {documented[name]!r}, compose {default!r}"


def test_compose_passes_every_setting_to_the_app_services():
    from tests.test_docker_compose import env_of, load_compose

    services = load_compose()["services"]
    # CHDB_PATH configures the embedded store, which the Docker stack does not use.
    names = {field.upper() for field in Settings.model_fields} - {"CHDB_PATH"}
    for service in ("migrate", "ingest", "generator", "dashboard"):
        env = env_of(services[service])
        missing = names - set(env)
        assert not missing, f"{service} does not get {sorted(missing)}"
        for name in names:
            assert re.fullmatch(rf"\$\{{{name}:-[^}}]*\}}", str(env[name])), f"{service}.{name}: {env[name]}"
