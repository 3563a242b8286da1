-- Dead letters: every message the contract rejected, byte for byte, with the reason and where it came
-- from. Keyed by its Kafka coordinates so a re-delivered bad message is stored once.
CREATE TABLE IF NOT EXISTS ingest_errors
(
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    message_key     String,
    raw             String,
    reason          String,
    received_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (kafka_topic, kafka_partition, kafka_offset);
