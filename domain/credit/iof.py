"""IOF on loans (IOF-Crédito): Decreto 6.306/2007 (RIOF), art. 7, and the decrees that changed it.

For a loan with a defined principal repaid in installments (RIOF art. 7, I, "b": "quando previsto
mais de um pagamento, o valor do principal de cada uma das parcelas"), the tax is

    daily rate × min(days from the release to the installment's due date, 365) × its amortization,
    summed over the installments, plus the additional ("flat") rate × the principal
    (art. 7 § 15, created by Decreto 6.339/2008 when the CPMF ended).

The 365-day cap: "Esse cálculo é limitado a 365 dias" (Receita Federal, in "IOF total em operação de
crédito será de 3,38% por ano", O Estado de S. Paulo, Jan 2008,
http://economia.estadao.com.br/noticias/geral,iof-total-em-operacao-de-credito-sera-de-3-38-por-ano,104328)
and "0,0082% ao dia, limitada a 365 dias" (Ministério da Fazenda, Diario de Pernambuco, 19 Jan 2015,
https://www.diariodepernambuco.com.br/noticia/economia/2015/01/iof-em-operacao-de-credito-para-pessoa-fisica-sobe-de-1-5-para-3-diz-levy.html).

The taxable event is the release of the money (RIOF art. 3 § 1, I), so the rates are those in force
on the release date. The two parts are rounded half-even to the centavo separately.

Financed IOF: the principal is grossed up so that, after the IOF on the grossed-up principal is
withheld, exactly the requested amount remains (see `gross_up_for_financed_iof`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.credit.money import CENTAVO, credit_context, to_centavo

IOF_DAY_CAP = 365


class CustomerType(StrEnum):
    INDIVIDUAL = "PF"  # pessoa física
    COMPANY = "PJ"  # pessoa jurídica


@dataclass(frozen=True)
class IofRates:
    """Rates as fractions: ``daily`` per day (0.0082% → ``0.000082``), ``flat`` once on the principal."""

    daily: Decimal
    flat: Decimal


@dataclass(frozen=True)
class IofRateVersion:
    """The IOF-Crédito rates for loans released from `effective_from` until the next version."""

    version: str
    effective_from: date
    individual: IofRates
    company: IofRates
    legal_basis: str

    def rates_for(self, customer_type: CustomerType) -> IofRates:
        return self.individual if customer_type is CustomerType.INDIVIDUAL else self.company


def _rates(daily_percent: str, flat_percent: str) -> IofRates:
    return IofRates(daily=Decimal(daily_percent) / 100, flat=Decimal(flat_percent) / 100)


# Art. 7, I, "b" (defined principal, per day) and § 15 (additional rate), by release date.
# Sources (public copies of the decrees and legal news, as cited per version below):
# - Decreto 6.306/2007 as amended, history of art. 7, I, "a", 2 and "b", 2 (PF rates 0,0041% →
#   0,0082% (6.339/2008) → 0,0041% (6.691/2008) → 0,0082% (7.458/2011) → 0,0068% (7.632/2011) →
#   0,0041% (7.726/2012) → 0,0082% (8.392/2015)); PJ 0,0041% in the original text:
#   https://www.jusbrasil.com.br/topicos/10817081/artigo-7-do-decreto-n-6306-de-14-de-dezembro-de-2007
# - The table starts with Decreto 7.726/2012 because no stored source gave the effective date of
#   Decreto 7.632/2011 (0,0068%); releases before 2012-05-23 are refused rather than guessed.
IOF_CREDIT_RATES: tuple[IofRateVersion, ...] = (
    IofRateVersion(
        version="RIOF art. 7 - Decreto 7.726/2012",
        effective_from=date(2012, 5, 23),
        individual=_rates("0.0041", "0.38"),
        company=_rates("0.0041", "0.38"),
        legal_basis=(
            "Decreto 7.726/2012 (DOU 22/05/2012, in force from 23/05/2012): PF 0,0041% a day, "
            "http://infoconsult.com.br/legislacao/decreto/2012/decreto_7726_2012.htm and "
            "https://escritacontabilidade.adv.br/blog/2012/05/governo-reduz-imposto-para-estimular-o-consumo-pelas-pessoas-fisicas; "
            "PJ 0,0041% a day (Decreto 6.306/2007, original text); additional 0,38% "
            "(art. 7 § 15, Decreto 6.339/2008, https://abrapp.org.br/legislacao/decreto-no-6-339-de-03-01-2008)"
        ),
    ),
    IofRateVersion(
        version="RIOF art. 7 - Decreto 8.392/2015",
        effective_from=date(2015, 1, 22),
        individual=_rates("0.0082", "0.38"),
        company=_rates("0.0041", "0.38"),
        legal_basis=(
            "Decreto 8.392/2015, published in the DOU of 21/01/2015 with effect from the next day: "
            "PF 0,0082% a day (https://sindhosp.org.br/aumento-do-iof-nas-operacoes-de-credito, "
            "http://pladvogados.com.br/Noticias.html.89); PJ unchanged at 0,0041%"
        ),
    ),
    IofRateVersion(
        version="RIOF art. 7 § 22 - Decreto 10.797/2021",
        effective_from=date(2021, 9, 20),
        individual=_rates("0.01118", "0.38"),
        company=_rates("0.00559", "0.38"),
        legal_basis=(
            "Decreto 10.797/2021, art. 7 § 22: taxable events from 20/09/2021 to 31/12/2021, "
            "PF 0,01118% and PJ 0,00559% a day "
            "(https://garciaemoreno.com.br/legislacao/21678/decreto_n__10.797:_governo_federal_aumenta_aliquotas_do_iof.html)"
        ),
    ),
    IofRateVersion(
        version="RIOF art. 7 - Decreto 8.392/2015 (after § 22 expired)",
        effective_from=date(2022, 1, 1),
        individual=_rates("0.0082", "0.38"),
        company=_rates("0.0041", "0.38"),
        legal_basis="End of the temporary rates of Decreto 10.797/2021 (art. 7 § 22 covered 2021 only)",
    ),
    IofRateVersion(
        version="RIOF art. 7 - Decreto 12.466/2025",
        effective_from=date(2025, 6, 1),
        individual=_rates("0.0082", "0.38"),
        company=_rates("0.0082", "0.95"),
        legal_basis=(
            "Decreto 12.466/2025 (22/05/2025), credit rates in effect from 01/06/2025: PJ 0,0082% a day "
            "and additional 0,95%; PF additional 0,38% "
            "(https://www.itfcursos.com.br/iob-alteracoes-de-aliquotas)"
        ),
    ),
    IofRateVersion(
        version="RIOF art. 7 - Decreto 12.499/2025",
        effective_from=date(2025, 6, 11),
        individual=_rates("0.0082", "0.38"),
        company=_rates("0.0082", "0.38"),
        legal_basis=(
            "Decreto 12.499/2025 (DOU 11/06/2025), replacing 12.466/2025: PJ 0,0082% a day, additional "
            "back to 0,38% (https://www.mellopimentel.com.br/post/novas-alterações-no-iof-decreto-12-499-25, "
            "https://www.felsberg.com.br/governo-federal-recua-no-aumento-do-iof-mas-institui-mp-com-polemicas-medidas-compensatorias). "
            "Sustained by Decreto Legislativo 176/2025 (DOU 27/06/2025), both suspended by STF (ADC 96, "
            "04/07/2025), and restored 'ex tunc' from its publication by the STF decision of 16/07/2025, "
            "except art. 7 §§ 15, 23 and 24 as to 'risco sacado' (https://briganti.com.br/?p=4170, "
            "https://feedman.me/posts/2vrSW). Not modelled: PJ optante do Simples Nacional/MEI, "
            "operations up to R$ 30.000,00, 0,00274% a day."
        ),
    ),
)


class IofRatesUnknown(LookupError):
    """No IOF rate version covers the release date."""


@dataclass(frozen=True)
class IofCharge:
    daily: Decimal
    flat: Decimal
    rates: IofRates
    version: str

    @property
    def total(self) -> Decimal:
        return self.daily + self.flat


def iof_rate_version_on(release_date: date, table: Sequence[IofRateVersion] = IOF_CREDIT_RATES) -> IofRateVersion:
    """The rate version in force on `release_date` (the taxable event, RIOF art. 3 § 1, I)."""
    in_force = [v for v in table if v.effective_from <= release_date]
    if not in_force:
        raise IofRatesUnknown(f"no IOF rates known for a release on {release_date.isoformat()}")
    return max(in_force, key=lambda v: v.effective_from)


def iof_on_loan(
    release_date: date,
    principal: Decimal,
    repayments: Sequence[tuple[date, Decimal]],
    rates: IofRates,
    version: str = "",
) -> IofCharge:
    """IOF of a loan of `principal` released on `release_date`.

    `repayments` are (due date, principal repaid in that installment); they add up to `principal`.
    """
    weights = iof_day_weights(release_date, [due for due, _ in repayments], rates)
    return iof_with_weights(weights, principal, [amount for _, amount in repayments], rates, version)


def iof_day_weights(release_date: date, due_dates: Sequence[date], rates: IofRates) -> list[Decimal]:
    """The daily rate times the days (capped at 365) to each due date: what one real repaid there costs."""
    with credit_context():
        daily = rates.daily
        return [daily * min((due - release_date).days, IOF_DAY_CAP) for due in due_dates]


def iof_with_weights(
    weights: Sequence[Decimal], principal: Decimal, amounts: Sequence[Decimal], rates: IofRates, version: str = ""
) -> IofCharge:
    """`iof_on_loan` with the day weights of `iof_day_weights` already computed (they do not depend on P)."""
    with credit_context():
        daily = sum(map(Decimal.__mul__, weights, amounts), Decimal(0))
        return IofCharge(daily=to_centavo(daily), flat=to_centavo(rates.flat * principal), rates=rates, version=version)


def gross_up_for_financed_iof(net_amount: Decimal, iof_for: Callable[[Decimal], Decimal]) -> Decimal:
    """The principal P whose IOF, withheld from it, leaves exactly `net_amount`: P − IOF(P) = net.

    `iof_for(P)` is the total IOF of a loan of principal P (its schedule depends on P). P − IOF(P)
    grows by one centavo or stays put as P grows by one centavo, so an exact P exists except in rare
    cases where schedule rounding makes IOF(P) drop a centavo; then the smallest P with
    P − IOF(P) ≥ net is returned, and the customer receives that centavo.

    The first guess assumes the IOF is the same share of P as of the net amount, which is right to
    a centavo or two, so `iof_for` is asked about three principals in the usual case; it is never
    asked twice about the same one.
    """
    known: dict[Decimal, Decimal] = {}

    def net_of(principal: Decimal) -> Decimal:
        if principal not in known:
            known[principal] = principal - iof_for(principal)
        return known[principal]

    with credit_context():
        share = iof_for(net_amount) / net_amount
        principal = max(to_centavo(net_amount / (1 - share)), net_amount)
        for _ in range(10_000):
            if net_of(principal) < net_amount:
                principal += CENTAVO
            elif principal > CENTAVO and net_of(principal - CENTAVO) >= net_amount:
                principal -= CENTAVO
            else:
                return principal
    raise ArithmeticError(f"no financed principal found for {net_amount}")  # pragma: no cover
