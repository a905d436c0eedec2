// Assistant layer: see docs/ARCHITECTURE.md.
