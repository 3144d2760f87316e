"""The local control channel used by the CLI (issue 4)."""
