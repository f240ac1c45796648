"""The provider simulator: one FastAPI app that stands in for every external provider.

Federal Revenue Office, credit bureau, ECM, eSignature and PIX, each under its own prefix, over
real HTTP, sending real signed webhooks, with an admin API (``/_admin``) that injects faults and
fixes answers. Run it with ``lendflow simulator``; build it in tests with
:func:`simulator.app.create_app`.
"""
