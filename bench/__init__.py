"""The portal's benchmarks: `make bench` (see README)."""
