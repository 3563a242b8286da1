-- Marts kept incrementally by materialized views. A view fires once per inserted block, including blocks
-- that repeat rows already stored, so every mart is keyed by the identity of what it counts and holds
-- only what a repeat cannot change (replace-by-key, the highest status rank, a max): inserting the same
-- event again, in any block, by any ingest instance, in any order, leaves every figure unchanged.

-- Marts are keyed by (order_id, position) first: order ids grow with time, so new rows overlap only the
-- newest ranges and a FINAL read merges just those, reading the rest as it lies.

-- Per position of each order: the row of the event with the highest status rank (Delivered > Canceled >
-- Created) wins, i.e. the order's final state as seen by that position, with that event's quantity.
CREATE TABLE IF NOT EXISTS item_positions
(
    order_id     UInt64,
    position     UInt16,
    item_id      UInt64,
    warehouse_id UInt64,
    status_rank  UInt8,
    quantity     UInt32
)
ENGINE = ReplacingMergeTree(status_rank)
ORDER BY (order_id, position);

CREATE MATERIALIZED VIEW IF NOT EXISTS item_positions_mv TO item_positions AS
SELECT order_id, position, item_id, warehouse_id, toUInt8(status) AS status_rank, quantity
FROM order_events;

-- The latest moment of any event touching an item: a max, unchanged by repeats, one row per item.
CREATE TABLE IF NOT EXISTS item_last_update
(
    item_id     UInt64,
    last_moment SimpleAggregateFunction(max, DateTime64(7, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY item_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS item_last_update_mv TO item_last_update AS
SELECT item_id, max(moment) AS last_moment
FROM order_events
GROUP BY item_id;

-- Delivered positions, one row per (order, position), with the seller and currency they pay out in.
CREATE TABLE IF NOT EXISTS delivered_positions
(
    seller_id UInt64,
    currency  LowCardinality(String),
    order_id  UInt64,
    position  UInt16,
    quantity  UInt32,
    amount    Decimal(38, 9)
)
ENGINE = ReplacingMergeTree
ORDER BY (order_id, position);

CREATE MATERIALIZED VIEW IF NOT EXISTS delivered_positions_mv TO delivered_positions AS
SELECT seller_id, currency, order_id, position, quantity, amount
FROM order_events
WHERE status = 'Delivered';

-- The flow of events: one row per (event, position), narrow, for time ranges (minmax index on moment).
CREATE TABLE IF NOT EXISTS event_flow
(
    order_id     UInt64,
    status       Enum8('Created' = 1, 'Canceled' = 2, 'Delivered' = 3),
    position     UInt16,
    moment       DateTime64(7, 'UTC'),
    currency     LowCardinality(String),
    warehouse_id UInt64,
    item_id      UInt64,
    quantity     UInt32,
    amount       Decimal(38, 9),
    INDEX moment_range moment TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
ORDER BY (order_id, status, position);

CREATE MATERIALIZED VIEW IF NOT EXISTS event_flow_mv TO event_flow AS
SELECT order_id, status, position, moment, currency, warehouse_id, item_id, quantity, amount
FROM order_events;
