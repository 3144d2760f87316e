"""The DNS side facing other servers: NOTIFY in, SOA/AXFR/IXFR out (issue 3)."""
