"""The newest offset Kafka holds per partition, to tell how far the store is behind (when reachable)."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, TopicPartition

from orderstream.settings import get_settings

TIMEOUT_SECONDS = 1.5


def high_watermarks(partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int] | None:
    """(topic, partition) -> offset of the next message Kafka will write; None if Kafka is unreachable."""
    settings = get_settings()
    consumer = Consumer({
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "group.id": f"{settings.kafka_group_id}-dashboard",
        "enable.auto.commit": False,
        "socket.timeout.ms": int(TIMEOUT_SECONDS * 1000),
        "log_level": 0,
    })
    try:
        return {
            (topic, partition): consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                               timeout=TIMEOUT_SECONDS, cached=False)[1]
            for topic, partition in partitions
        }
    except KafkaException:
        return None
    finally:
        consumer.close()
