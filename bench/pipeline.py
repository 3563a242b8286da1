"""Pipeline figures on a real Kafka broker: generator, raw consume, ingest into chDB, and their ratio.

    .venv/bin/python bench/pipeline.py [--bootstrap 127.0.0.1:19092] [--events 500000] [--repeat 3] [--arroyo]

Prints figures; it is not a test (it fails only if the pipeline itself fails). Every step runs --repeat
times and prints the median with the spread (min..max): the machine has 2 cores that other work shares.
See bench/README.md for what each figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

PARTITIONS = 3
SEED = 1
RESULT_PREFIX = "BENCH-RESULT "


# --- helpers ----------------------------------------------------------------------------------------------
def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} (min {fmt.format(min(values))} .. max {fmt.format(max(values))}, n={len(values)})"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def create_topic(admin: AdminClient, name: str) -> None:
    futures = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    futures[name].result(30)
    # Wait until the metadata shows every partition with a leader.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=10).topics.get(name)
        if topic is not None and topic.error is None and len(topic.partitions) == PARTITIONS:
            if all(p.leader >= 0 for p in topic.partitions.values()):
                return
        time.sleep(0.2)
    raise RuntimeError(f"topic {name} has no leaders after 30 s")


def high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-probe-{uuid.uuid4().hex}"})
    try:
        return {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        probe.close()


def children_cpu() -> float:
    """User + system CPU seconds of the waited-for child processes so far (all their threads)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child_env(bootstrap: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    env.update(extra)
    return env


# --- 1. generator -------------------------------------------------------------------------------------------
def run_generator(bootstrap: str, topic: str, events: int) -> dict:
    """`python -m generator` exactly as shipped, in a subprocess; its own summary line gives the rate from
    the producer's creation to the final flush (so interpreter start-up is excluded from `rate`)."""
    started, cpu_before = time.monotonic(), children_cpu()
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "--count", str(events), "--seed", str(SEED), "--topic", topic, "--quiet"],
        cwd=ROOT, env=child_env(bootstrap), capture_output=True, text=True, timeout=600,
    )
    wall, cpu = time.monotonic() - started, children_cpu() - cpu_before
    if proc.returncode != 0:
        raise RuntimeError(f"generator failed ({proc.returncode}): {proc.stderr[-2000:]}")
    match = re.search(r"(\d+) events in ([\d.]+) s \(([\d,]+) events/s\)", proc.stderr)
    if match is None:
        raise RuntimeError(f"no summary line from the generator: {proc.stderr[-2000:]}")
    sent = int(match.group(1))
    return {"sent": sent, "rate": float(match.group(3).replace(",", "")), "wall_rate": sent / wall, "wall": wall,
            "cpu_us": cpu / sent * 1e6}


# --- 2. raw consume -----------------------------------------------------------------------------------------
def raw_consume(bootstrap: str, topic: str, highs: dict[int, int]) -> dict:
    """A plain Consumer that only reads the messages (value bytes touched), with the ingest's fetch config,
    assigned to every partition from the start, until it reached the high watermarks."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-raw-{uuid.uuid4().hex}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.max.bytes": 64 * 1024 * 1024,
    })
    total = sum(highs.values())
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    count = size = 0
    first = None
    cpu_before = time.process_time()  # this process does nothing else meanwhile: consumer threads included
    deadline = time.monotonic() + 300
    try:
        while count < total and time.monotonic() < deadline:
            messages = consumer.consume(num_messages=10_000, timeout=1.0)
            if messages and first is None:
                first = time.monotonic()
            for message in messages:
                if message.error() is None:
                    count += 1
                    size += len(message.value())
        last, cpu = time.monotonic(), time.process_time() - cpu_before
    finally:
        consumer.close()
    if count < total:
        raise RuntimeError(f"raw consume read {count} of {total} messages")
    seconds = last - (first or last)
    return {"messages": count, "seconds": seconds, "rate": count / seconds, "bytes": size, "cpu_us": cpu / count * 1e6}


# --- 3. ingest (in a child process: one chDB directory per process) ------------------------------------------
CHILD = r'''
import json, resource, sys, threading, time
t_process = time.monotonic()
import psutil
import ingest.run, ingest.sink, ingest.batch, ingest.consumer
from orderstream.clickhouse import connect
from orderstream.settings import get_settings

marks = {"first_add": None, "first_write_done": None, "last_commit": None}
writes = []  # (seconds, rows, messages)
peak = [0]
stop_sampling = threading.Event()
me = psutil.Process()

def sample():
    while not stop_sampling.is_set():
        peak[0] = max(peak[0], me.memory_info().rss)
        stop_sampling.wait(0.02)

threading.Thread(target=sample, daemon=True).start()

original_migrate = ingest.run.migrate
def timed_migrate(settings):
    result = original_migrate(settings)
    marks["migrated"] = time.monotonic()
    return result
ingest.run.migrate = timed_migrate

original_add = ingest.batch.Batch.add
def timed_add(self, *args):
    if marks["first_add"] is None:
        marks["first_add"] = time.monotonic()
    return original_add(self, *args)
ingest.batch.Batch.add = timed_add

original_write = ingest.sink.ClickHouseSink.write
def timed_write(self, batch, *args):
    started = time.monotonic()
    original_write(self, batch, *args)
    done = time.monotonic()
    writes.append((done - started, batch.rows, batch.messages))
    if marks["first_write_done"] is None:
        marks["first_write_done"] = done
        marks["messages_in_first_write"] = batch.messages
ingest.sink.ClickHouseSink.write = timed_write

original_commit = ingest.consumer.Ingest._commit
def timed_commit(self):
    pending = bool(self._uncommitted)
    original_commit(self)
    if pending and not self._uncommitted:
        marks["last_commit"] = time.monotonic()
ingest.consumer.Ingest._commit = timed_commit

stop = threading.Event()
totals = ingest.run.run_ingest(get_settings(), stop, exit_when_idle=True)
t_end = time.monotonic()
stop_sampling.set()
client = connect(get_settings())
rows, events = client.query(
    "SELECT count(), (SELECT count() FROM (SELECT DISTINCT order_id, status FROM order_events)) FROM order_events"
).result_rows[0]
errors = client.query("SELECT count() FROM ingest_errors").result_rows[0][0]
marks = {k: (v - t_process if isinstance(v, float) else v) for k, v in marks.items()}
print("BENCH-RESULT " + json.dumps({
    "totals": totals, "marks": marks, "end": t_end - t_process, "writes": writes,
    "peak_rss": peak[0], "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
    "rows": rows, "distinct_events": events, "error_rows": errors,
}), flush=True)
'''


def run_ingest_child(bootstrap: str, topic: str, workdir: Path, batch_size: int | None) -> dict:
    chdb_path = workdir / f"chdb-{uuid.uuid4().hex[:8]}"
    env = child_env(bootstrap, KAFKA_TOPIC=topic, KAFKA_GROUP_ID=f"bench-ingest-{uuid.uuid4().hex}",
                    CHDB_PATH=str(chdb_path))
    if batch_size:
        env["INGEST_BATCH_SIZE"] = str(batch_size)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1200)
    wall = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"ingest child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    result["wall"] = wall
    m, n = result["marks"], result["totals"]["messages"]
    result["rate_first_to_commit"] = n / (m["last_commit"] - m["first_add"])
    after_first = n - m["messages_in_first_write"]
    result["rate_steady"] = after_first / (m["last_commit"] - m["first_write_done"])
    result["rate_wall"] = n / wall
    return result


# --- 4. optional: Arroyo baseline ---------------------------------------------------------------------------
ARROYO_CHILD = r'''
import json, resource, sys, time
from arroyo.backends.kafka import KafkaConsumer, KafkaPayload
from arroyo.backends.kafka.configuration import build_kafka_consumer_configuration
from arroyo.processing import StreamProcessor
from arroyo.processing.strategies import CommitOffsets, ProcessingStrategy, ProcessingStrategyFactory
from arroyo.processing.strategies.reduce import Reduce
from arroyo.processing.strategies.run_task import RunTask
from arroyo.types import BaseValue, Message, Partition, Topic
from ingest.batch import Batch

topic, bootstrap, total, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
state = {"messages": 0, "first": None, "last": None, "batches": 0}

def accumulate(batch: Batch, value: BaseValue[KafkaPayload]) -> Batch:
    if state["first"] is None:
        state["first"] = time.monotonic()
    payload = value.payload
    partition, offset = next(iter(value.committable.items()))
    batch.add(partition.topic.name, partition.index, offset - 1, payload.key, payload.value)
    return batch

def write(message: Message[Batch]) -> Batch:  # the no-op write
    batch = message.payload
    state["messages"] += batch.messages
    state["batches"] += 1
    state["last"] = time.monotonic()
    return batch

class Factory(ProcessingStrategyFactory[KafkaPayload]):
    def create_with_partitions(self, commit, partitions) -> ProcessingStrategy[KafkaPayload]:
        return Reduce(batch_size, 1.0, accumulate, Batch, RunTask(write, CommitOffsets(commit)))

config = build_kafka_consumer_configuration(
    {"bootstrap.servers": bootstrap}, group_id=f"bench-arroyo-{time.time_ns()}", auto_offset_reset="earliest")
processor = StreamProcessor(KafkaConsumer(config), Topic(topic), Factory())
deadline = time.monotonic() + 600
while state["messages"] < total and time.monotonic() < deadline:
    processor._run_once()
processor._shutdown()
seconds = state["last"] - state["first"]
print("BENCH-RESULT " + json.dumps({"messages": state["messages"], "seconds": seconds,
                                    "rate": state["messages"] / seconds, "batches": state["batches"],
                                    "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2])}), flush=True)
'''


def run_arroyo(bootstrap: str, topic: str, total: int, batch_size: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", ARROYO_CHILD, topic, bootstrap, str(total), str(batch_size)],
                          cwd=ROOT, env=child_env(bootstrap), capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"arroyo child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def arroyo_importable() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import arroyo"], capture_output=True)
    return probe.returncode == 0


# --- main ---------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (median and spread printed)")
    parser.add_argument("--arroyo", action="store_true", help="also measure a sentry-arroyo consumer, if importable")
    parser.add_argument("--batch-size", type=int, default=None, help="INGEST_BATCH_SIZE for the ingest (default: its own)")
    parser.add_argument("--keep", action="store_true", help="keep the bench topics and chDB directories")
    args = parser.parse_args(argv)

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    run_id = uuid.uuid4().hex[:8]
    topics: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    print(f"bench {run_id}: {args.events:,} events, {PARTITIONS} partitions, broker {args.bootstrap}, "
          f"{args.repeat} run(s) per step, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    try:
        # 1. generator: each run to a fresh topic; the first topic feeds the consumers below.
        gen = []
        for i in range(args.repeat):
            topic = f"bench_{run_id}_{i}"
            create_topic(admin, topic)
            topics.append(topic)
            gen.append(run_generator(args.bootstrap, topic, args.events))
        topic = topics[0]
        highs = high_watermarks(args.bootstrap, topic)
        produced = sum(highs.values())
        print(f"\n1. generator (python -m generator --count {args.events} --seed {SEED} --quiet)")
        print(f"   events/s, own summary (producer created -> flushed): {spread([g['rate'] for g in gen])}")
        print(f"   events/s, subprocess wall incl. interpreter start:  {spread([g['wall_rate'] for g in gen])}")
        print(f"   CPU us/event, all threads of the process (incl. start-up): {spread([g['cpu_us'] for g in gen], '{:.2f}')}")
        print(f"   messages in {topic}: {produced:,} (high watermarks {highs})")

        # 2. raw consume
        raw = [raw_consume(args.bootstrap, topic, highs) for _ in range(args.repeat)]
        raw_rate = statistics.median(r["rate"] for r in raw)
        print("\n2. raw consume (confluent_kafka consume(num_messages=10000) to the high watermarks)")
        print(f"   msgs/s: {spread([r['rate'] for r in raw])}; {raw[0]['bytes'] / produced:.0f} bytes/message")
        print(f"   CPU us/message, all threads (incl. group-less assign and first fetch): "
              f"{spread([r['cpu_us'] for r in raw], '{:.2f}')}")

        # 3. ingest
        runs = [run_ingest_child(args.bootstrap, topic, workdir, args.batch_size) for _ in range(args.repeat)]
        print(f"\n3. ingest (ingest.run.run_ingest, exit_when_idle, fresh chDB dir and group per run, own process; "
              f"INGEST_BATCH_SIZE={args.batch_size or 'default'})")
        print(f"   events/s, first message -> last commit:          {spread([r['rate_first_to_commit'] for r in runs])}")
        print(f"   events/s, steady (first write done -> last commit): {spread([r['rate_steady'] for r in runs])}")
        print(f"   events/s, process wall (start-up, migrations, group join, close): "
              f"{spread([r['rate_wall'] for r in runs])}")
        print(f"   wall s: {spread([r['wall'] for r in runs], '{:.1f}')}; fixed start-up until the first message s: "
              f"{spread([r['marks']['first_add'] for r in runs], '{:.2f}')} "
              f"(migrations done at {spread([r['marks']['migrated'] for r in runs], '{:.2f}')})")
        print(f"   after the last commit until exit (idle check, close) s: "
              f"{spread([r['end'] - r['marks']['last_commit'] for r in runs], '{:.2f}')}")
        print(f"   CPU us/event, all threads of the process (incl. start-up): "
              f"{spread([r['cpu'] / r['totals']['messages'] * 1e6 for r in runs], '{:.1f}')}")
        print(f"   peak RSS MiB (psutil, sampled every 20 ms): {spread([r['peak_rss'] / 2**20 for r in runs], '{:.0f}')}; "
              f"ru_maxrss MiB: {spread([r['ru_maxrss'] / 2**20 for r in runs], '{:.0f}')}")
        latencies = sorted(w[0] * 1000 for r in runs for w in r["writes"])
        rows_per_write = statistics.median(w[1] for r in runs for w in r["writes"])
        print(f"   ClickHouseSink.write ms over {len(latencies)} batches (median {rows_per_write:,.0f} rows): "
              f"p50 {percentile(latencies, 50):.0f}, p95 {percentile(latencies, 95):.0f}, "
              f"p99 {percentile(latencies, 99):.0f}, max {latencies[-1]:.0f}")
        ingest_rate = statistics.median(r["rate_first_to_commit"] for r in runs)
        steady_rate = statistics.median(r["rate_steady"] for r in runs)

        print("\n4. ratio ingest / raw consume (medians; target >= 60%)")
        print(f"   first message -> last commit: {ingest_rate / raw_rate:.0%}; steady: {steady_rate / raw_rate:.0%}")

        print("\n5. sanity: ClickHouse holds what was produced")
        expected_rows = expected_positions(args.events)
        ok = True
        for i, r in enumerate(runs):
            good = (r["totals"]["messages"] == produced and r["distinct_events"] == produced
                    and r["rows"] == expected_rows and r["error_rows"] == 0)
            ok &= good
            print(f"   run {i + 1}: {r['totals']['messages']:,} messages consumed, {r['distinct_events']:,} distinct "
                  f"(order_id, status) and {r['rows']:,} rows in order_events (expected {produced:,} and "
                  f"{expected_rows:,}), {r['error_rows']} dead letters: {'OK' if good else 'MISMATCH'}")

        if args.arroyo:
            print("\n6. sentry-arroyo baseline (StreamProcessor: Reduce(parse into our Batch) -> no-op write -> commit)")
            if not arroyo_importable():
                print("   skipped: arroyo is not importable (pip install sentry-arroyo==2.48.0 to measure)")
            else:
                arroyo = [run_arroyo(args.bootstrap, topic, produced, 20_000) for _ in range(args.repeat)]
                rate = statistics.median(a["rate"] for a in arroyo)
                print(f"   events/s: {spread([a['rate'] for a in arroyo])}; {rate / raw_rate:.0%} of raw consume")
                print(f"   CPU us/event, all threads of the process (incl. start-up): "
                      f"{spread([a['cpu'] / a['messages'] * 1e6 for a in arroyo], '{:.1f}')} (ours, with the chDB write: "
                      f"{statistics.median(r['cpu'] / r['totals']['messages'] * 1e6 for r in runs):.1f})")
        return 0 if ok else 1
    finally:
        if not args.keep:
            if topics:
                for future in admin.delete_topics(topics).values():
                    try:
                        future.result(30)
                    except Exception as exc:  # a leftover topic is harmless
                        print(f"could not delete a bench topic: {exc}", file=sys.stderr)
            subprocess.run(["rm", "-rf", str(workdir)], check=False)


def expected_positions(events: int) -> int:
    """Rows the ingest must write: the positions of the same seeded stream the generator sent."""
    import itertools

    from generator.__main__ import build_parser, shape_from
    from generator.orders import OrderSimulator

    shape = shape_from(build_parser().parse_args(["--seed", str(SEED)]))
    stream = itertools.islice(OrderSimulator(shape, seed=SEED).events(), events)
    return sum(len(event.positions) for event in stream)


if __name__ == "__main__":
    sys.exit(main())
