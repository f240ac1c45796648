"""The custom search attributes ops filter on in the Temporal UI (registered by `lendflow services up`)."""

from temporalio.common import SearchAttributeKey

LOAN_STATUS = SearchAttributeKey.for_keyword("LoanStatus")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
LOAN_AMOUNT = SearchAttributeKey.for_float("LoanAmount")
RISK_BAND = SearchAttributeKey.for_keyword("RiskBand")
FAILED_STEP = SearchAttributeKey.for_keyword("FailedStep")
# The step whose activity keeps retrying (or hangs) past the policy's retrying_after, while it does.
RETRYING_STEP = SearchAttributeKey.for_keyword("RetryingStep")
