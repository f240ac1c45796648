/** Simulate, then apply: the answer follows the form as it changes; applying is idempotent per attempt. */
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "expo-router";
import { useRef, useState } from "react";
import { StyleSheet, Text, View } from "react-native";

import { api, unwrap } from "@/api/client";
import { problemSentence } from "@/api/problems";
import { PRODUCT_LIMITS, REFERENCE_MONTHLY_RATE_PERCENT, useMe, useSimulation } from "@/api/queries";
import { AddressPrompt } from "@/components/AddressPrompt";
import { SimulationForm, type SimulationValues } from "@/components/SimulationForm";
import { Button, colors, Loading, Message, Row, Screen, Section, Title } from "@/components/ui";
import { t } from "@/i18n";
import { newIdempotencyKey } from "@/lib/ids";
import { formatDate, formatMoney, formatPercent } from "@/lib/format";
import { useDebounced } from "@/lib/useDebounced";

const DEBOUNCE_MS = 400;

export default function Simulate() {
  const router = useRouter();
  const me = useMe(false);
  const [values, setValues] = useState<SimulationValues | null>(null);
  const settled = useDebounced(values, DEBOUNCE_MS);
  const simulation = useSimulation(settled);
  // One key per attempt: the same values tapped twice, or retried after a time-out, are one application.
  const attempt = useRef<{ values: string; key: string } | null>(null);

  const apply = useMutation({
    mutationFn: (chosen: SimulationValues) => {
      const fingerprint = JSON.stringify(chosen);
      if (attempt.current?.values !== fingerprint) attempt.current = { values: fingerprint, key: newIdempotencyKey() };
      return unwrap(
        api.POST("/v1/loans", {
          params: { header: { "Idempotency-Key": attempt.current.key } },
          body: { amount: chosen.amount, term_months: chosen.term_months, amortization: chosen.amortization },
        }),
      );
    },
    onSuccess: (application) => router.replace(`/loans/${application.id}`),
  });

  const result = simulation.data;
  const active = me.data?.status === "active";
  return (
    <Screen testID="screen-simulate">
      <Title>{t("simulate.title")}</Title>
      <SimulationForm limits={PRODUCT_LIMITS} onValid={setValues} onSubmit={(v) => setValues({ ...v })} />
      <Message>{t("simulate.rateNote", { rate: formatPercent(REFERENCE_MONTHLY_RATE_PERCENT) })}</Message>
      {simulation.isFetching && !result ? <Loading label={t("common.loading")} /> : null}
      {result ? (
        <Section testID="simulation-result">
          <Row label={result.amortization === "price" ? t("simulate.installment") : t("simulate.firstInstallment")} value={formatMoney(result.installments[0]?.payment ?? "0")} testID="simulation-installment" />
          <Row label={t("simulate.iof")} value={formatMoney(result.iof.total)} testID="simulation-iof" />
          <Row label={t("simulate.cetMonthly")} value={formatPercent(result.cet_monthly)} testID="simulation-cet-monthly" />
          <Row label={t("simulate.cetAnnual")} value={formatPercent(result.cet_annual)} testID="simulation-cet-annual" />
          <Row label={t("simulate.released")} value={formatMoney(result.amount_released)} />
          <Row label={t("simulate.total")} value={formatMoney(result.total_payable)} testID="simulation-total" />
          <Text accessibilityRole="header" style={styles.subtitle}>
            {t("simulate.schedule")}
          </Text>
          <View accessibilityRole="list" testID="simulation-schedule">
            {result.installments.map((item) => (
              <View key={item.number} style={styles.scheduleRow}>
                <Text style={styles.cell}>{item.number}</Text>
                <Text style={styles.cell}>{formatDate(item.due_date)}</Text>
                <Text style={[styles.cell, styles.right]}>{formatMoney(item.payment)}</Text>
              </View>
            ))}
          </View>
        </Section>
      ) : null}
      {simulation.error && !result ? <Message tone="error">{problemSentence(simulation.error)}</Message> : null}
      {me.data && !active ? <Message tone="error">{t("apply.onlyActive")}</Message> : null}
      {me.data && !me.data.address ? <AddressPrompt /> : null}
      {apply.error ? <Message tone="error" testID="apply-error">{problemSentence(apply.error)}</Message> : null}
      <Button
        label={t("apply.submit")}
        onPress={() => settled && apply.mutate(settled)}
        disabled={!active || !settled || !result}
        busy={apply.isPending}
        testID="apply-submit"
      />
    </Screen>
  );
}

const styles = StyleSheet.create({
  subtitle: { fontWeight: "600", color: colors.text, marginTop: 6 },
  scheduleRow: { flexDirection: "row", paddingVertical: 2 },
  cell: { flex: 1, color: colors.text },
  right: { textAlign: "right" },
});
