"""The two ways a provider call can fail, and the business refusals among them.

Every client raises only these. A caller (a Temporal activity) retries a ``TransientProviderError``
and stops on a ``PermanentProviderError``; a ``BusinessRefusal`` is a permanent error in which the
provider understood the request and said no (CPF not found, PIX key unknown, envelope already
signed), which the workflow turns into a business outcome rather than an incident.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Root of every error raised by an integration client."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.operation = operation
        self.status_code = status_code

    def __str__(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        return f"{self.provider}.{self.operation}{status}: {self.message}"


class TransientProviderError(ProviderError):
    """A failure worth retrying: timeout, connection error, 408, 429 or 5xx.

    ``retry_after`` is the delay in seconds the provider asked for (``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, operation=operation, status_code=status_code)
        self.retry_after = retry_after


class ProviderTimeout(TransientProviderError):
    """The provider did not answer within the client's timeout; the request may have taken effect."""


class ProviderUnavailable(TransientProviderError):
    """The provider could not be reached, or answered 5xx/429/408."""


class PermanentProviderError(ProviderError):
    """A failure that retrying the same request will not fix: a 4xx, a refusal, an unreadable answer.

    ``code`` is the provider's own error code when it sent one (``invalid_token``, ``pix_key_not_found``).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str,
        status_code: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, operation=operation, status_code=status_code)
        self.code = code


class UnexpectedProviderAnswer(PermanentProviderError):
    """A successful status whose body does not have the agreed shape."""


class IdempotencyConflict(PermanentProviderError):
    """The idempotency key (or txid, or refund id) was already used for a different request."""


class BusinessRefusal(PermanentProviderError):
    """The provider understood the request and refused it for a business reason."""


# Federal Revenue Office
class InvalidCpf(BusinessRefusal):
    """The CPF is malformed or its check digits are wrong."""


class CpfNotFound(BusinessRefusal):
    """No CPF registration exists with that number."""


class CpfDataProtected(BusinessRefusal):
    """The holder is a minor and the data is withheld under the LGPD."""


# Credit bureau
class CreditFileNotFound(BusinessRefusal):
    """The bureau has no file on the CPF (a thin-file customer)."""


# ECM
class DocumentNotFound(BusinessRefusal):
    """No stored document has that id (never stored, or deleted)."""


class DocumentIntegrityError(PermanentProviderError):
    """A fetched document's bytes do not match the SHA-256 the ECM reported for it."""


# eSignature
class EnvelopeNotFound(BusinessRefusal):
    """No envelope has that id."""


class EnvelopeNotVoidable(BusinessRefusal):
    """The envelope is already signed, declined or expired and can no longer be voided."""


# PIX
class PixKeyNotFound(BusinessRefusal):
    """The PIX key is not registered in the directory (DICT)."""


class PayoutRefused(BusinessRefusal):
    """The payment provider refused the payout (insufficient balance, invalid account, limit)."""


class PayoutNotFound(BusinessRefusal):
    """No payout has that EndToEndId."""


class ChargeNotFound(BusinessRefusal):
    """No charge (cob) has that txid."""


class ChargeNotCancellable(BusinessRefusal):
    """The charge is already paid or removed and can no longer be cancelled."""


class RefundRefused(BusinessRefusal):
    """The refund (devolução) was refused, e.g. it exceeds what is left of the payment."""


class RefundNotFound(BusinessRefusal):
    """No refund has that id for that payment."""
