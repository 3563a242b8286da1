-- The public SQL interface: analysts, the dashboard and the tests read these views. Each reads its mart
-- collapsed by key (FINAL or -Merge), so duplicates never show, whether or not parts have merged yet.

-- Per item: quantity of orders whose final state is Created (reserved), Delivered (sold), Canceled.
CREATE VIEW IF NOT EXISTS sales_by_item AS
SELECT
    item_id,
    intDiv(item_id, 1000000)   AS seller_id,
    reserved,
    sold,
    canceled,
    last_updated
FROM
(
    SELECT item_id,
           toInt64(sumIf(quantity, status_rank = 1)) AS reserved,
           toInt64(sumIf(quantity, status_rank = 3)) AS sold,
           toInt64(sumIf(quantity, status_rank = 2)) AS canceled
    FROM item_positions FINAL
    GROUP BY item_id
) AS quantities
INNER JOIN
(
    SELECT item_id, max(last_moment) AS last_updated
    FROM item_last_update
    GROUP BY item_id
) AS updates USING (item_id);

-- Per seller and currency: what Delivered orders owe the seller.
CREATE VIEW IF NOT EXISTS seller_payouts AS
SELECT
    seller_id,
    toString(currency)        AS currency,
    toInt64(sum(quantity))    AS delivered_quantity,
    sum(amount)               AS delivered_revenue
FROM delivered_positions FINAL
GROUP BY seller_id, currency;

-- The flow of events: each distinct event on the UTC day of its moment, per currency of its positions
-- and its status; orders = distinct orders.
CREATE VIEW IF NOT EXISTS revenue_by_currency AS
SELECT
    toDate(moment, 'UTC')     AS day,
    toString(currency)        AS currency,
    toString(status)          AS status,
    uniqExact(order_id)       AS orders,
    toInt64(sum(quantity))    AS quantity,
    sum(amount)               AS revenue
FROM event_flow FINAL
GROUP BY day, currency, status;
