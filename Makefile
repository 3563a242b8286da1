# make demo  - the whole product in one process (no Docker): generator -> broker -> ingest -> chDB -> dashboard
# make test  - installs what the tests need, starts a real Apache Kafka broker, runs the test suite
# make bench - the benchmarks in bench/ (figures, not pass/fail)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SAMPLES := ../shared/samples/course-generator-events.jsonl

.PHONY: demo test bench venv system-deps kafka-start kafka-stop dashboard ingest generator clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements/pipeline.txt requirements/dashboard.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) -m demo $(if $(wildcard $(SAMPLES)),--replay $(SAMPLES))

dashboard: venv
	$(PY) -m dashboard

ingest: venv
	$(PY) -m ingest

generator: venv
	$(PY) -m generator

system-deps:
	tools/install-system-deps.sh

kafka-start:
	tools/kafka/broker.sh start

kafka-stop:
	tools/kafka/broker.sh stop

test: venv system-deps
	tools/kafka/broker.sh start
	$(PY) -m pytest; status=$$?; tools/kafka/broker.sh stop; exit $$status

bench: venv
	tools/kafka/broker.sh start
	$(PY) bench/pipeline.py
	$(PY) bench/dashboard.py

clean:
	tools/kafka/broker.sh stop || true
	rm -rf build data test-artifacts
