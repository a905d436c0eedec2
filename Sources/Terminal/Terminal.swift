// Terminal layer: see docs/ARCHITECTURE.md.
