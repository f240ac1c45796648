/** The BFF's `application/problem+json` answers, turned into sentences a customer can act on. */
import { t, type MessageKey } from "@/i18n";
import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];

export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.title);
    this.name = "ApiProblem";
  }

  get status(): number {
    return this.problem.status;
  }

  /** The code at the end of the problem's type URI, e.g. `account-unavailable`. */
  get code(): string {
    return this.problem.type.split("/").pop() ?? "";
  }
}

const BY_FIELD_TYPE: Record<string, MessageKey> = {
  "cpf:cpf": "field.cpfInvalid",
  "cpf:string_pattern_mismatch": "field.cpfInvalid",
  "email:string_pattern_mismatch": "field.emailInvalid",
  "phone:string_pattern_mismatch": "field.phoneInvalid",
  "birth_date:birth_date": "field.adult",
  "password:string_too_short": "field.passwordShort",
  "name:name": "field.nameInvalid",
  "monthly_income:monthly_income": "field.incomeInvalid",
};

const BY_FIELD: Record<string, MessageKey> = {
  cpf: "field.cpfInvalid",
  email: "field.emailInvalid",
  phone: "field.phoneInvalid",
  birth_date: "field.dateInvalid",
  password: "field.passwordShort",
  name: "field.nameInvalid",
  monthly_income: "field.incomeInvalid",
  amount: "field.amountInvalid",
  "address.postal_code": "field.postalCodeInvalid",
  "address.street": "field.streetInvalid",
  "address.number": "field.numberInvalid",
  "address.complement": "field.complementInvalid",
  "address.district": "field.districtInvalid",
  "address.city": "field.cityInvalid",
  "address.state": "field.stateInvalid",
};

/** One Portuguese sentence per bad field the BFF named; the keys are the BFF's field names. `scope`
 * names the object a body stands for when its fields arrive bare: `PUT /v1/me/address` is an address,
 * so its `postal_code` is read as sign-up's `address.postal_code`. */
export function fieldErrors(problem: Problem, scope?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const error of problem.errors ?? []) {
    const field = scope ? `${scope}.${error.field}` : error.field;
    const key = BY_FIELD_TYPE[`${field}:${error.type}`] ?? BY_FIELD[field];
    out[error.field] = key ? t(key) : t("field.invalid");
  }
  return out;
}

/** A sentence for the whole answer, when it is not about one field. */
export function problemSentence(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.code === "account-unavailable") return t("signup.taken");
    if (error.code === "invalid-credentials") return t("login.invalid");
    if (error.status === 429) return t("login.throttled");
  }
  return t("common.unexpected");
}
