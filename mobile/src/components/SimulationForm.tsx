/** Amount, number of installments and Price or SAC; reports each valid combination as it is typed. */
import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect } from "react";
import { Controller, useForm, useWatch } from "react-hook-form";
import { Pressable, StyleSheet, Text, View } from "react-native";
import { z } from "zod";

import { t } from "@/i18n";
import { formatMoney, parseMoneyInput } from "@/lib/format";
import { Button, colors, TextField } from "./ui";

export interface SimulationValues {
  amount: string;
  term_months: number;
  amortization: "price" | "sac";
}

export interface SimulationLimits {
  minAmount: number;
  maxAmount: number;
  minTerm: number;
  maxTerm: number;
}

export function simulationSchema(limits: SimulationLimits) {
  return z.object({
    amount: z
      .string()
      .refine((text) => parseMoneyInput(text) !== null, { message: t("field.amountInvalid") })
      .refine(
        (text) => {
          const amount = Number(parseMoneyInput(text));
          return amount >= limits.minAmount && amount <= limits.maxAmount;
        },
        { message: t("field.amountRange", { min: formatMoney(limits.minAmount), max: formatMoney(limits.maxAmount) }) },
      ),
    term: z
      .string()
      .refine((text) => /^\d{1,3}$/.test(text) && Number(text) >= limits.minTerm && Number(text) <= limits.maxTerm, {
        message: t("field.termInvalid", { min: limits.minTerm, max: limits.maxTerm }),
      }),
    amortization: z.enum(["price", "sac"]),
  });
}

type FormValues = z.infer<ReturnType<typeof simulationSchema>>;

function toValues(form: FormValues): SimulationValues {
  return { amount: parseMoneyInput(form.amount) ?? "0.00", term_months: Number(form.term), amortization: form.amortization };
}

interface Props {
  limits: SimulationLimits;
  initial?: { amount: string; term: string; amortization: "price" | "sac" };
  /** Each time the fields hold a valid combination. */
  onValid: (values: SimulationValues) => void;
  onSubmit: (values: SimulationValues) => void;
}

export function SimulationForm({ limits, initial, onValid, onSubmit }: Props) {
  const { control, handleSubmit, trigger, formState } = useForm<FormValues>({
    resolver: zodResolver(simulationSchema(limits)),
    defaultValues: initial ?? { amount: "5.000,00", term: "12", amortization: "price" },
    mode: "onChange",
  });
  const watched = useWatch({ control });

  useEffect(() => {
    const schema = simulationSchema(limits);
    const parsed = schema.safeParse(watched);
    if (parsed.success) onValid(toValues(parsed.data));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [watched.amount, watched.term, watched.amortization]);

  return (
    <View style={styles.form}>
      <Controller
        control={control}
        name="amount"
        render={({ field }) => (
          <TextField
            label={t("simulate.amount")}
            value={field.value}
            onChangeText={field.onChange}
            onBlur={field.onBlur}
            error={formState.errors.amount?.message}
            keyboardType="decimal-pad"
            testID="simulate-amount"
          />
        )}
      />
      <Controller
        control={control}
        name="term"
        render={({ field }) => (
          <TextField
            label={t("simulate.term")}
            value={field.value}
            onChangeText={(text) => field.onChange(text.replace(/\D/g, ""))}
            onBlur={field.onBlur}
            error={formState.errors.term?.message}
            keyboardType="number-pad"
            maxLength={3}
            testID="simulate-term"
          />
        )}
      />
      <Controller
        control={control}
        name="amortization"
        render={({ field }) => (
          <View accessibilityRole="radiogroup" accessibilityLabel={t("simulate.amortization")} style={styles.choices}>
            <Text style={styles.label}>{t("simulate.amortization")}</Text>
            {(["price", "sac"] as const).map((option) => (
              <Pressable
                key={option}
                accessibilityRole="radio"
                accessibilityLabel={t(option === "price" ? "simulate.price" : "simulate.sac")}
                accessibilityState={{ checked: field.value === option }}
                onPress={() => {
                  field.onChange(option);
                  void trigger();
                }}
                style={[styles.choice, field.value === option ? styles.chosen : null]}
                testID={`simulate-amortization-${option}`}
              >
                <Text style={field.value === option ? styles.chosenText : styles.choiceText}>
                  {t(option === "price" ? "simulate.price" : "simulate.sac")}
                </Text>
              </Pressable>
            ))}
          </View>
        )}
      />
      <Button label={t("simulate.submit")} kind="secondary" onPress={handleSubmit((form) => onSubmit(toValues(form)))} testID="simulate-submit" />
    </View>
  );
}

const styles = StyleSheet.create({
  form: { gap: 12 },
  label: { color: colors.text, fontWeight: "500" },
  choices: { gap: 6 },
  choice: { borderWidth: 1, borderColor: colors.border, borderRadius: 8, padding: 10 },
  chosen: { borderColor: colors.brand, backgroundColor: "#E8F0FF" },
  choiceText: { color: colors.text },
  chosenText: { color: colors.brand, fontWeight: "600" },
});
