// Wafer layer: see docs/ARCHITECTURE.md.
