"""Keeping one zone fresh: SOA checks, schedules, AXFR/IXFR (issue 3)."""
