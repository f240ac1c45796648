/** One installment: number, due date, amount and state; for an open one, its PIX code to pay it. */
import { StyleSheet, Text, View } from "react-native";

import type { Schemas } from "@/api/client";
import { t, type MessageKey } from "@/i18n";
import { formatDate, formatMoney } from "@/lib/format";
import { QrCode } from "./QrCode";
import { Button, colors } from "./ui";

interface Props {
  installment: Schemas["InstallmentView"];
  onCopy?: (code: string) => void;
  copied?: boolean;
}

export function InstallmentCard({ installment, onCopy, copied }: Props) {
  const { number, status, charge } = installment;
  const stateKey = `installment.${status}` as MessageKey;
  const code = status === "open" ? charge?.br_code : null;
  return (
    <View
      accessibilityLabel={t("installment.title", { number })}
      style={styles.card}
      testID={`installment-${number}`}
      dataSet={{ status }}
    >
      <View style={styles.header}>
        <Text accessibilityRole="header" style={styles.title}>
          {t("installment.title", { number })}
        </Text>
        <Text style={[styles.state, status === "open" ? styles.open : styles.paid]} testID={`installment-${number}-status`} dataSet={{ status }}>
          {t(stateKey)}
        </Text>
      </View>
      <Text style={styles.amount}>{formatMoney(charge?.amount ?? installment.payment)}</Text>
      <Text style={styles.muted}>
        {installment.paid_at ? t("installment.paidOn", { date: formatDate(installment.paid_at) }) : t("installment.due", { date: formatDate(installment.due_date) })}
      </Text>
      {code ? (
        <View style={styles.pix}>
          <Text style={styles.label}>{t("installment.pixCode")}</Text>
          <Text selectable style={styles.code} testID={`installment-${number}-pix-code`}>
            {code}
          </Text>
          {onCopy ? (
            <Button
              kind="secondary"
              label={copied ? t("installment.copied") : t("installment.copy")}
              onPress={() => onCopy(code)}
              testID={`installment-${number}-copy`}
            />
          ) : null}
          <QrCode value={code} label={t("installment.qr")} size={180} />
        </View>
      ) : null}
    </View>
  );
}

const styles = StyleSheet.create({
  card: { borderWidth: 1, borderColor: colors.border, borderRadius: 10, padding: 12, gap: 6, backgroundColor: "#fff" },
  header: { flexDirection: "row", justifyContent: "space-between" },
  title: { fontWeight: "700", color: colors.text },
  state: { fontWeight: "600" },
  open: { color: colors.warn },
  paid: { color: colors.ok },
  amount: { fontSize: 20, fontWeight: "700", color: colors.text },
  muted: { color: colors.muted },
  pix: { gap: 8, marginTop: 6 },
  label: { fontWeight: "600", color: colors.text },
  code: { fontFamily: "monospace", fontSize: 12, color: colors.text, backgroundColor: colors.surface, padding: 8 },
});
