"""The one-command embedded run: generator -> in-process Kafka-protocol broker -> ingest -> chDB -> dashboard."""
