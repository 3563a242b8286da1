-- What the dashboard reads on every render, kept tiny. Only minimums and maximums: a repeated event
-- cannot change them, so these stay exact under re-delivery like the other marts.

-- The span of the data and the values a filter can take (the sidebar).
CREATE TABLE IF NOT EXISTS stream_dimensions
(
    currency     LowCardinality(String),
    warehouse_id UInt64,
    first_moment SimpleAggregateFunction(min, DateTime64(7, 'UTC')),
    last_moment  SimpleAggregateFunction(max, DateTime64(7, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (currency, warehouse_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS stream_dimensions_mv TO stream_dimensions AS
SELECT currency, warehouse_id, min(moment) AS first_moment, max(moment) AS last_moment
FROM order_events
GROUP BY currency, warehouse_id;

-- How far each Kafka partition has been stored, events and dead letters alike (the health page).
CREATE TABLE IF NOT EXISTS partition_progress
(
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    last_offset     SimpleAggregateFunction(max, UInt64),
    last_ingested   SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (kafka_topic, kafka_partition);

CREATE MATERIALIZED VIEW IF NOT EXISTS partition_progress_events_mv TO partition_progress AS
SELECT kafka_topic, kafka_partition, max(kafka_offset) AS last_offset, max(ingested_at) AS last_ingested
FROM order_events
GROUP BY kafka_topic, kafka_partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS partition_progress_errors_mv TO partition_progress AS
SELECT kafka_topic, kafka_partition, max(kafka_offset) AS last_offset, max(received_at) AS last_ingested
FROM ingest_errors
GROUP BY kafka_topic, kafka_partition;
