/** The postal address of the sign-up form: CEP with its mask, street, number, complement, district,
 * city and UF. The fields are the form's own (react-hook-form); the schema checks them. */
import { Controller, type Control, type FieldErrors, type Path } from "react-hook-form";
import { Text, View } from "react-native";
import { z } from "zod";

import { t, type MessageKey } from "@/i18n";
import { cepDigits, isUf, isValidCep, maskCep, type Uf } from "@/lib/address";
import { colors, TextField } from "./ui";

const line = (max: number, message: MessageKey) => z.string().trim().min(1, t(message)).max(max, t(message));

export const addressSchema = z.object({
  postal_code: z.string().refine(isValidCep, { message: t("field.postalCodeInvalid") }),
  street: line(200, "field.streetInvalid").refine((text) => text.length >= 2, { message: t("field.streetInvalid") }),
  number: line(20, "field.numberInvalid"),
  complement: z.string().trim().max(100, t("field.complementInvalid")),
  district: line(100, "field.districtInvalid").refine((text) => text.length >= 2, { message: t("field.districtInvalid") }),
  city: line(100, "field.cityInvalid").refine((text) => text.length >= 2, { message: t("field.cityInvalid") }),
  state: z.string().refine((text): boolean => isUf(text), { message: t("field.stateInvalid") }),
});
export type AddressForm = z.infer<typeof addressSchema>;

export const EMPTY_ADDRESS: AddressForm = { postal_code: "", street: "", number: "", complement: "", district: "", city: "", state: "" };

/** The form's fields as the BFF's `address`: the CEP as its digits, the UF in capitals, no empty complement. */
export function addressBody(form: AddressForm) {
  return {
    postal_code: cepDigits(form.postal_code),
    street: form.street.trim(),
    number: form.number.trim(),
    complement: form.complement.trim() || null,
    district: form.district.trim(),
    city: form.city.trim(),
    state: form.state.trim().toUpperCase() as Uf,
  };
}

type Field = { name: keyof AddressForm; label: MessageKey; mask?: (text: string) => string; keyboard?: "number-pad"; maxLength?: number };

const FIELDS: Field[] = [
  { name: "postal_code", label: "signup.postalCode", mask: maskCep, keyboard: "number-pad", maxLength: 9 },
  { name: "street", label: "signup.street" },
  { name: "number", label: "signup.number", maxLength: 20 },
  { name: "complement", label: "signup.complement", maxLength: 100 },
  { name: "district", label: "signup.district" },
  { name: "city", label: "signup.city" },
  { name: "state", label: "signup.state", mask: (text) => text.replace(/[^A-Za-z]/g, "").toUpperCase(), maxLength: 2 },
];

interface Props<T extends AddressForm> {
  control: Control<T>;
  errors: FieldErrors<T>;
  testID?: string;
}

export function AddressFields<T extends AddressForm>({ control, errors, testID = "signup-address" }: Props<T>) {
  return (
    <View accessibilityLabel={t("signup.address")} style={{ gap: 12 }}>
      <Text accessibilityRole="header" style={{ color: colors.text, fontWeight: "600", marginTop: 8 }}>
        {t("signup.address")}
      </Text>
      {FIELDS.map(({ name, label, mask, keyboard, maxLength }) => (
        <Controller
          key={name}
          control={control}
          name={name as Path<T>}
          render={({ field }) => (
            <TextField
              label={t(label)}
              value={String(field.value ?? "")}
              onChangeText={(text) => field.onChange(mask ? mask(text) : text)}
              onBlur={field.onBlur}
              error={(errors as FieldErrors<AddressForm>)[name]?.message}
              keyboardType={keyboard}
              maxLength={maxLength}
              autoComplete="off"
              placeholder={name === "postal_code" ? "00000-000" : name === "state" ? "SP" : undefined}
              testID={`${testID}-${name.replace("_", "-")}`}
            />
          )}
        />
      ))}
    </View>
  );
}
