/** CPF: the 000.000.000-00 mask and the two check digits, verified before anything is sent. */

export function cpfDigits(text: string): string {
  return text.replace(/\D/g, "").slice(0, 11);
}

/** Puts the dots and the dash in as the customer types. */
export function maskCpf(text: string): string {
  const d = cpfDigits(text);
  if (d.length <= 3) return d;
  if (d.length <= 6) return `${d.slice(0, 3)}.${d.slice(3)}`;
  if (d.length <= 9) return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`;
  return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
}

function checkDigit(digits: string): number {
  const weightStart = digits.length + 1;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) sum += Number(digits[i]) * (weightStart - i);
  const rest = (sum * 10) % 11;
  return rest === 10 ? 0 : rest;
}

/** Eleven digits, not all the same, whose two last digits are the check digits of the first nine. */
export function isValidCpf(text: string): boolean {
  const d = cpfDigits(text);
  if (text.replace(/[\d.\-\s]/g, "") !== "" || d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
  const first = checkDigit(d.slice(0, 9));
  const second = checkDigit(d.slice(0, 10));
  return first === Number(d[9]) && second === Number(d[10]);
}
