"""Pure business rules and types of Lendflow, importable by Temporal workflows (standard library only)."""
