"""Commands of the `lendflow` CLI that live in modules of their own; `lendflow.cli` registers them."""
