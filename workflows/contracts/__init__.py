"""The contracts between Lendflow's processes, one module per journey.

Each module imports only the standard library, ``temporalio`` and pure domain value types, so the
API, the event bridge, the CLI, the workers and the workflows can all import it without loading a
database driver or an HTTP client (the shape of the money-transfer sample's ``shared.py``): the
workflow ids, the signal, update and query names, the activities' request and result types, the
activities' typed stubs the workflows call, and the refusal types a workflow acts on.

The modules evaluate their annotations eagerly (no ``from __future__ import annotations``): a
workflow's sandbox decodes payloads into these types and cannot resolve the string annotations of a
module it did not import itself (``events`` is imported by the other contracts, outside it).
"""
