"""A DEVELOPMENT broker for the no-Docker demo: librdkafka's mock cluster, in this process, via ctypes.

It speaks the Kafka protocol, so the real producer and consumer code paths run against it, but it is
not Apache Kafka: data lives in memory only, retention is small and fixed (older messages are dropped
silently), there is no TLS/SASL. Tests and CI use a real Apache Kafka broker (tools/kafka/broker.sh).
"""

from __future__ import annotations

import ctypes
import glob
import os

import confluent_kafka


def _librdkafka() -> ctypes.CDLL:
    # confluent-kafka's wheel bundles librdkafka (with the mock cluster API) beside the package.
    here = os.path.dirname(confluent_kafka.__file__)
    candidates = glob.glob(os.path.join(here, "..", "confluent_kafka.libs", "librdkafka*.so*"))
    lib = ctypes.CDLL(candidates[0] if candidates else "librdkafka.so.1")
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    return lib


class DevBroker:
    """One mock broker; `bootstrap_servers` is its random local address."""

    def __init__(self, topic: str, partitions: int = 3):
        self._lib = _librdkafka()
        errstr = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        # The handle only hosts the cluster and never connects anywhere: keep it from warning about that.
        self._lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, len(errstr))
        # The mock cluster hangs off a client handle; a producer handle that never produces serves.
        self._handle = self._lib.rd_kafka_new(0, conf, errstr, len(errstr))
        if not self._handle:
            raise RuntimeError(f"librdkafka: {errstr.value.decode()}")
        self._cluster = self._lib.rd_kafka_mock_cluster_new(self._handle, 1)
        if not self._cluster:
            raise RuntimeError("librdkafka could not start its mock cluster")
        self._lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self._cluster, 0)
        if self._lib.rd_kafka_mock_topic_create(self._cluster, topic.encode(), partitions, 1) != 0:
            raise RuntimeError(f"could not create topic {topic}")
        self.bootstrap_servers = self._lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()

    def close(self) -> None:
        if self._cluster:
            self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
            self._lib.rd_kafka_destroy(self._handle)
            self._cluster = self._handle = None
