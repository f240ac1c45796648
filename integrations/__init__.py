"""Typed clients for Lendflow's external providers, and what they share.

One module per provider (``federal_revenue``, ``credit_bureau``, ``ecm``, ``esignature``,
``pix``), each client taking its ``httpx.AsyncClient`` from :mod:`integrations.factory` and
returning pydantic models. Every failure is a :class:`~integrations.errors.TransientProviderError`
(retry) or a :class:`~integrations.errors.PermanentProviderError` (stop), mapped in one place,
:mod:`integrations.http`. :mod:`integrations.webhooks` signs and verifies provider webhooks;
:mod:`integrations.pix_codes` makes and checks EndToEndIds, txids and BR Codes;
:mod:`integrations.cpf` validates and masks CPFs.
"""
