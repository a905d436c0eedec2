// TUI layer: see docs/ARCHITECTURE.md.
