"""Plays the order service: realistic, contract-valid order events produced to Kafka."""
