// Patch layer: see docs/ARCHITECTURE.md.
