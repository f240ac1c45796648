/** The customer's applications, newest first, and the way to a new one. */
import { Link, useRouter } from "expo-router";
import { StyleSheet, Text, View } from "react-native";

import { useLoans, useMe } from "@/api/queries";
import { AddressPrompt } from "@/components/AddressPrompt";
import { logOut } from "@/auth/session";
import { Button, colors, Loading, Message, Screen, Title } from "@/components/ui";
import { statusText, t } from "@/i18n";
import { formatDate, formatMoney } from "@/lib/format";

export default function Loans() {
  const router = useRouter();
  const loans = useLoans();
  const me = useMe(false);
  return (
    <Screen testID="screen-loans">
      <Title>{t("loans.title")}</Title>
      {me.data && !me.data.address ? <AddressPrompt /> : null}
      {loans.isPending ? <Loading label={t("common.loading")} /> : null}
      {loans.data && loans.data.items.length === 0 ? <Message>{t("loans.empty")}</Message> : null}
      {loans.data?.items.map((loan) => (
        <Link key={loan.id} href={`/loans/${loan.id}`} accessibilityRole="link" testID={`loan-${loan.id}`}>
          <View style={styles.item}>
            <Text style={styles.amount}>{formatMoney(loan.amount)} · {loan.term_months}x</Text>
            <Text style={styles.muted}>
              {statusText(loan.status)} · {formatDate(loan.created_at)}
            </Text>
          </View>
        </Link>
      ))}
      <Button label={t("loans.new")} onPress={() => router.push("/loans/simulate")} testID="loans-new" />
      {me.data?.address ? (
        <Button kind="secondary" label={t("address.edit")} onPress={() => router.push("/profile/address")} testID="address-edit" />
      ) : null}
      <Button kind="secondary" label={t("common.logout")} onPress={() => void logOut()} testID="logout" />
    </Screen>
  );
}

const styles = StyleSheet.create({
  item: { padding: 12, borderWidth: 1, borderColor: colors.border, borderRadius: 8, gap: 4, width: "100%" },
  amount: { fontWeight: "700", color: colors.text },
  muted: { color: colors.muted },
});
