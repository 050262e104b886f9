# shared helpers for CLI tests
