"""Test-side Kafka plumbing, independent of the product's ingest: send raw messages, read a topic back."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed


_TRANSIENT = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
              KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError._TIMED_OUT, KafkaError._TRANSPORT}


def _retriable(exc: BaseException) -> bool:
    # A fresh broker answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while it loads group state.
    return isinstance(exc, KafkaException) and (exc.args[0].retriable() or exc.args[0].code() in _TRANSIENT)


def send(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]], partition: int | None = None) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for key, value in messages:
        if partition is None:
            producer.produce(topic, value=value, key=key)
        else:
            producer.produce(topic, value=value, key=key, partition=partition)
        producer.poll(0)
    assert producer.flush(30) == 0


def read_all(bootstrap: str, topic: str) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every message of the topic as (partition, offset, key, value), read by partition assignment."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out = []
        while ends:
            for m in consumer.consume(1000, timeout=1):
                if m.error():
                    continue
                out.append((m.partition(), m.offset(), m.key(), m.value()))
                if m.offset() + 1 >= ends.get(m.partition(), 0):
                    ends.pop(m.partition(), None)
        return out
    finally:
        consumer.close()


@retry(retry=retry_if_exception(_retriable), stop=stop_after_delay(60), wait=wait_fixed(0.5), reraise=True)
def group_progress(bootstrap: str, group_id: str, topic: str) -> tuple[int, int]:
    """(messages the group has committed, messages in the topic), summed over partitions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        done = total = 0
        for tp in consumer.committed(partitions, timeout=10):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            total += high - low
            done += max(tp.offset, low) - low
        return done, total
    finally:
        consumer.close()


def group_caught_up(bootstrap: str, group_id: str, topic: str) -> bool:
    done, total = group_progress(bootstrap, group_id, topic)
    return done == total
