-- Marts kept incrementally by materialized views. A view fires once per inserted block, including blocks
-- that repeat rows already stored, so every mart is keyed by the identity of what it counts and holds
-- only idempotent aggregates (max, argMax by status rank, or replace-by-key): inserting the same event
-- again, in any block, by any ingest instance, in any order, leaves every figure unchanged.

-- Per item position of each order: the order's final state as seen by that position (max status rank),
-- the quantity and amount of the event with that state, the latest moment of any event touching it.
CREATE TABLE IF NOT EXISTS item_positions
(
    item_id      UInt64,
    order_id     UInt64,
    position     UInt16,
    warehouse_id SimpleAggregateFunction(max, UInt64),
    status_rank  SimpleAggregateFunction(max, UInt8),
    quantity     AggregateFunction(argMax, UInt32, UInt8),
    last_moment  SimpleAggregateFunction(max, DateTime64(7, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (item_id, order_id, position);

CREATE MATERIALIZED VIEW IF NOT EXISTS item_positions_mv TO item_positions AS
SELECT
    item_id,
    order_id,
    position,
    max(warehouse_id)                          AS warehouse_id,
    max(toUInt8(status))                       AS status_rank,
    argMaxState(quantity, toUInt8(status))     AS quantity,
    max(moment)                                AS last_moment
FROM order_events
GROUP BY item_id, order_id, position;

-- Delivered positions per seller and currency, one row per (order, position): payouts.
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
ORDER BY (seller_id, currency, order_id, position);

CREATE MATERIALIZED VIEW IF NOT EXISTS delivered_positions_mv TO delivered_positions AS
SELECT seller_id, currency, order_id, position, quantity, amount
FROM order_events
WHERE status = 'Delivered';

-- The flow of events: one row per (event, position) with its UTC day, narrow and sorted for time ranges.
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
