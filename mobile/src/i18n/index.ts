import { ptBR, type MessageKey } from "./pt-BR";

export type { MessageKey };

/** The catalogue's text for `key`, with `{name}` placeholders filled in. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return ptBR[key].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** A reason code from the BFF (`cpf_status_suspended`) as a sentence, or the code itself quoted. */
export function reasonText(reason: string | null | undefined): string {
  if (!reason) return "";
  const key = `reason.${reason}` as MessageKey;
  return key in ptBR ? ptBR[key] : t("reason.unknown", { reason });
}

export function statusText(status: string): string {
  const key = `status.${status}` as MessageKey;
  return key in ptBR ? ptBR[key] : status;
}
