"""What every stage of the order-event pipeline shares: the event contract, the settings, ClickHouse access."""
