/** Sign-up: each field checked here first (the CPF's check digits and the address's CEP and UF
 * included), then by the BFF. The address is the one the contract (CCB) will name the customer with. */
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import { Link, useRouter } from "expo-router";
import { Controller, useForm, type Path } from "react-hook-form";
import { z } from "zod";

import { publicApi, unwrap } from "@/api/client";
import { ApiProblem, fieldErrors, problemSentence } from "@/api/problems";
import { logIn } from "@/auth/session";
import { AddressFields, addressBody, addressSchema, EMPTY_ADDRESS } from "@/components/AddressFields";
import { CpfInput } from "@/components/CpfInput";
import { Button, Message, Screen, TextField, Title } from "@/components/ui";
import { t } from "@/i18n";
import { cpfDigits, isValidCpf } from "@/lib/cpf";
import { maskDate, parseBrazilianDate, parseMoneyInput } from "@/lib/format";

function isAdult(iso: string, today = new Date()): boolean {
  const [y, m, d] = iso.split("-").map(Number) as [number, number, number];
  const adultOn = new Date(Date.UTC(y + 18, m - 1, d));
  return y >= 1900 && adultOn.getTime() <= today.getTime();
}

function maskPhone(text: string): string {
  const d = text.replace(/\D/g, "").slice(0, 11);
  if (d.length <= 2) return d;
  if (d.length <= 7) return `(${d.slice(0, 2)}) ${d.slice(2)}`;
  return `(${d.slice(0, 2)}) ${d.slice(2, d.length - 4)}-${d.slice(d.length - 4)}`;
}

export const signupSchema = z.object({
  name: z.string().trim().min(2, t("field.nameInvalid")).regex(/\p{L}/u, t("field.nameInvalid")),
  cpf: z.string().refine(isValidCpf, { message: t("field.cpfInvalid") }),
  email: z.string().trim().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, t("field.emailInvalid")),
  phone: z.string().refine((text) => /^\d{10,11}$/.test(text.replace(/\D/g, "")), { message: t("field.phoneInvalid") }),
  birth_date: z
    .string()
    .refine((text) => parseBrazilianDate(text) !== null, { message: t("field.dateInvalid") })
    .refine((text) => isAdult(parseBrazilianDate(text) ?? "0000-01-01"), { message: t("field.adult") }),
  monthly_income: z.string().refine((text) => Number(parseMoneyInput(text) ?? 0) > 0, { message: t("field.incomeInvalid") }),
  password: z.string().min(10, t("field.passwordShort")).max(128),
  ...addressSchema.shape,
});
type SignupForm = z.infer<typeof signupSchema>;

const FIELDS: { name: Path<SignupForm>; label: string; testID: string; secure?: boolean; mask?: (text: string) => string; keyboard?: "email-address" | "phone-pad" | "number-pad" | "decimal-pad" }[] = [
  { name: "name", label: t("signup.name"), testID: "signup-name" },
  { name: "email", label: t("signup.email"), testID: "signup-email", keyboard: "email-address" },
  { name: "phone", label: t("signup.phone"), testID: "signup-phone", mask: maskPhone, keyboard: "phone-pad" },
  { name: "birth_date", label: t("signup.birthDate"), testID: "signup-birth-date", mask: maskDate, keyboard: "number-pad" },
  { name: "monthly_income", label: t("signup.income"), testID: "signup-income", keyboard: "decimal-pad" },
  { name: "password", label: t("signup.password"), testID: "signup-password", secure: true },
];

export default function Signup() {
  const router = useRouter();
  const { control, handleSubmit, formState, setError } = useForm<SignupForm>({
    resolver: zodResolver(signupSchema),
    defaultValues: { name: "", cpf: "", email: "", phone: "", birth_date: "", monthly_income: "", password: "", ...EMPTY_ADDRESS },
  });
  const register = useMutation({
    mutationFn: async (form: SignupForm) => {
      const email = form.email.trim().toLowerCase();
      await unwrap(
        publicApi.POST("/v1/auth/register", {
          body: {
            name: form.name.trim(),
            cpf: cpfDigits(form.cpf),
            email,
            phone: `+55${form.phone.replace(/\D/g, "")}`,
            birth_date: parseBrazilianDate(form.birth_date) ?? "",
            monthly_income: parseMoneyInput(form.monthly_income) ?? "0.00",
            password: form.password,
            address: addressBody(form),
          },
        }),
      );
      await logIn(email, form.password);
    },
    onSuccess: () => router.replace("/onboarding"),
    onError: (error) => {
      if (error instanceof ApiProblem) {
        for (const [bffField, message] of Object.entries(fieldErrors(error.problem))) {
          const field = bffField.replace(/^address\./, ""); // the address's fields are the form's own
          if (field in signupSchema.shape) setError(field as Path<SignupForm>, { message });
        }
      }
    },
  });
  const general = register.error && !(register.error instanceof ApiProblem && register.error.problem.errors?.length) ? problemSentence(register.error) : null;
  return (
    <Screen testID="screen-signup">
      <Title>{t("signup.title")}</Title>
      <Controller
        control={control}
        name="cpf"
        render={({ field }) => <CpfInput value={field.value} onChange={field.onChange} onBlur={field.onBlur} error={formState.errors.cpf?.message} testID="signup-cpf" />}
      />
      {FIELDS.map(({ name, label, testID, secure, mask, keyboard }) => (
        <Controller
          key={name}
          control={control}
          name={name}
          render={({ field }) => (
            <TextField
              label={label}
              value={field.value}
              onChangeText={(text) => field.onChange(mask ? mask(text) : text)}
              onBlur={field.onBlur}
              error={formState.errors[name]?.message}
              secureTextEntry={secure}
              keyboardType={keyboard}
              autoComplete={secure ? "new-password" : "off"}
              testID={testID}
            />
          )}
        />
      ))}
      <AddressFields control={control} errors={formState.errors} />
      {general ? <Message tone="error" testID="signup-error">{general}</Message> : null}
      <Button label={t("signup.submit")} onPress={handleSubmit((form) => register.mutate(form))} busy={register.isPending} testID="signup-submit" />
      <Link href="/login" accessibilityRole="link">
        {t("signup.toLogin")}
      </Link>
    </Screen>
  );
}
