"""Helpers of the transfer benchmark (`bench/xfr.py`): processes, zones, servers."""
