"""Test-only helpers (not product code)."""
