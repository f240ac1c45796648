/** Money, dates and percentages the way a Brazilian reads them, through Intl with the pt-BR locale. */

const money = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
const percent = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const date = new Intl.DateTimeFormat("pt-BR", { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" });

/** "1234.56" (the BFF's decimal string) → "R$ 1.234,56". Strings stay strings until the last moment. */
export function formatMoney(amount: string | number): string {
  // Intl puts a no-break space between the symbol and the digits; a plain space reads the same.
  return money.format(Number(amount)).replace(/\u00a0/g, " ");
}

/** A percentage already in percent ("2.31") → "2,31%". */
export function formatPercent(value: string | number): string {
  return `${percent.format(Number(value))}%`;
}

/** "2026-03-05" or an ISO timestamp → "05/03/2026". A bare date is read as that calendar day. */
export function formatDate(iso: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T00:00:00Z`) : new Date(iso);
  if (Number.isNaN(day.getTime())) return iso;
  if (iso.length > 10) {
    return new Intl.DateTimeFormat("pt-BR", { day: "2-digit", month: "2-digit", year: "numeric" }).format(day);
  }
  return date.format(day);
}

/** Typed "1.234,56" or "1234,56" or "1234.56" → the BFF's "1234.56"; null when it is no amount. */
export function parseMoneyInput(text: string): string | null {
  const cleaned = text.replace(/[R$\s]/g, "");
  if (!cleaned) return null;
  // A comma is the decimal mark; without one, dots grouping thousands ("5.000") are read as such.
  const normalized = cleaned.includes(",")
    ? cleaned.replace(/\./g, "").replace(",", ".")
    : /^\d{1,3}(\.\d{3})+$/.test(cleaned)
      ? cleaned.replace(/\./g, "")
      : cleaned;
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(normalized)) return null;
  return Number(normalized).toFixed(2);
}

/** Typed "dd/mm/aaaa" → "aaaa-mm-dd", or null when it is no real date. */
export function parseBrazilianDate(text: string): string | null {
  const match = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text.trim());
  if (!match) return null;
  const [, dd, mm, yyyy] = match;
  const iso = `${yyyy}-${mm}-${dd}`;
  const parsed = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== iso) return null;
  return iso;
}

/** Keeps the digits of a date being typed and puts the slashes in: "0503199" → "05/03/199". */
export function maskDate(text: string): string {
  const digits = text.replace(/\D/g, "").slice(0, 8);
  if (digits.length <= 2) return digits;
  if (digits.length <= 4) return `${digits.slice(0, 2)}/${digits.slice(2)}`;
  return `${digits.slice(0, 2)}/${digits.slice(2, 4)}/${digits.slice(4)}`;
}

/** Whole seconds left until an ISO instant → "2 d 03:04:05" / "03:04:05"; "00:00:00" once past. */
export function formatTimeLeft(untilIso: string, now: number = Date.now()): string {
  const total = Math.max(0, Math.floor((new Date(untilIso).getTime() - now) / 1000));
  const days = Math.floor(total / 86400);
  const pad = (n: number) => String(n).padStart(2, "0");
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days} d ${clock}` : clock;
}
