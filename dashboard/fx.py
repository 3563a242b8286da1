"""Optional conversion of money into one currency with the configured rates; never implicit."""

from __future__ import annotations

from decimal import Decimal


class Converter:
    def __init__(self, rates: dict[tuple[str, str], Decimal]):
        self._rates = dict(rates)
        for (source, target), rate in rates.items():
            self._rates.setdefault((target, source), 1 / rate)

    def targets(self) -> list[str]:
        return sorted({target for _, target in self._rates})

    def rate(self, source: str, target: str) -> Decimal | None:
        if source == target:
            return Decimal(1)
        return self._rates.get((source, target))

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal | None:
        """The amount in `target`, or None when no rate is configured for the pair."""
        rate = self.rate(source, target)
        return None if rate is None else amount * rate
