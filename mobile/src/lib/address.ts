/** A Brazilian postal address: the CEP's 00000-000 mask and the 27 UFs, checked before anything is sent. */

/** The 26 states and the Federal District (IBGE abbreviations), as the BFF accepts them. */
export const UFS = [
  "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
  "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
] as const;
export type Uf = (typeof UFS)[number];

export function cepDigits(text: string): string {
  return text.replace(/\D/g, "").slice(0, 8);
}

/** Puts the dash in as the customer types: "01310100" → "01310-100". */
export function maskCep(text: string): string {
  const d = cepDigits(text);
  return d.length <= 5 ? d : `${d.slice(0, 5)}-${d.slice(5)}`;
}

export function isValidCep(text: string): boolean {
  return /^\d{5}-?\d{3}$/.test(text.trim());
}

export function isUf(text: string): text is Uf {
  return (UFS as readonly string[]).includes(text.trim().toUpperCase());
}
