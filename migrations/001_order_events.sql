-- Raw events: one row per event position. An event is (order_id, status); a position is its index in the
-- event. Re-delivered rows (Kafka at-least-once, a crash between insert and commit, a producer sending the
-- same event twice) share the sorting key and collapse into one when parts merge or a query reads FINAL.
CREATE TABLE IF NOT EXISTS order_events
(
    order_id        UInt64,
    status          Enum8('Created' = 1, 'Canceled' = 2, 'Delivered' = 3),
    position        UInt16,
    moment          DateTime64(7, 'UTC'),
    user_id         UInt64,
    warehouse_id    UInt64,
    item_id         UInt64,
    seller_id       UInt64 DEFAULT intDiv(item_id, 1000000),
    quantity        UInt32,
    currency        LowCardinality(String),
    units           Int64,
    nanos           UInt32,
    -- Exact money: units + nanos / 1e9 as Decimal, never float.
    price           Decimal(38, 9) DEFAULT toDecimal128(units, 9) + toDecimal128(nanos, 9) / 1000000000,
    amount          Decimal(38, 9) DEFAULT price * quantity,
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX moment_range moment TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
ORDER BY (order_id, status, position);
