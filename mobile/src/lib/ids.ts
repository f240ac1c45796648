/** A random UUID v4 for an Idempotency-Key: the platform's when it has one. */
export function newIdempotencyKey(): string {
  const native = globalThis.crypto as Crypto | undefined;
  if (native && typeof native.randomUUID === "function") return native.randomUUID();
  const hex = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16));
  hex[12] = "4";
  hex[16] = ((parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  const s = hex.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
