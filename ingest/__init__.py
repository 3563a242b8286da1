"""Consumes order events from Kafka and writes them into ClickHouse: decode -> batch -> write -> commit."""
