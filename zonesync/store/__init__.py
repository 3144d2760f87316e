"""What survives a restart: zone files, per-zone state, IXFR journal (issue 3)."""
