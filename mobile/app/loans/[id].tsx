/** One application, live: its timeline, the offer, the signature, the PIX disbursement and the installments. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import * as Clipboard from "expo-clipboard";
import { useLocalSearchParams } from "expo-router";
import * as WebBrowser from "expo-web-browser";
import { useEffect, useState } from "react";
import { Platform, StyleSheet, Text, View } from "react-native";

import { api, unwrap, type Schemas } from "@/api/client";
import { problemSentence } from "@/api/problems";
import { isTerminal, useInstallments, useLoan, useMe } from "@/api/queries";
import { AddressPrompt } from "@/components/AddressPrompt";
import { InstallmentCard } from "@/components/InstallmentCard";
import { QrCode } from "@/components/QrCode";
import { StatusTimeline } from "@/components/StatusTimeline";
import { Button, colors, Loading, Message, Row, Screen, Section, Title } from "@/components/ui";
import { reasonText, statusText, t } from "@/i18n";
import { formatDate, formatMoney, formatPercent, formatTimeLeft } from "@/lib/format";

const CANCELLABLE = new Set(["submitted", "analyzing", "manual_review", "offer_ready", "offer_accepted", "contract_sent"]);

function useNow(enabled: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!enabled) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [enabled]);
  return now;
}

async function openSigning(url: string): Promise<void> {
  if (Platform.OS === "web") {
    window.open(url, "_blank", "noopener");
    return;
  }
  await WebBrowser.openBrowserAsync(url);
}

// The BFF sends rates in percent with two decimals ("1.99" is 1,99 % a month).
function Offer({ offer, onAccept, accepting }: { offer: Schemas["OfferView"]; onAccept: () => void; accepting: boolean }) {
  const now = useNow(true);
  return (
    <Section title={t("loan.offer")} testID="loan-offer">
      <Row label={t("simulate.installment")} value={`${offer.term_months}x ${formatMoney(offer.installments[0]?.payment ?? "0")}`} />
      <Row label={t("loan.offer.rate")} value={`${formatPercent(offer.monthly_rate)} a.m.`} testID="offer-rate" />
      <Row label={t("simulate.iof")} value={formatMoney(offer.iof_total)} />
      <Row label={t("simulate.cetMonthly")} value={formatPercent(offer.cet_monthly)} />
      <Row label={t("simulate.cetAnnual")} value={formatPercent(offer.cet_annual)} />
      <Row label={t("simulate.released")} value={formatMoney(offer.amount_released)} />
      <Row label={t("simulate.total")} value={formatMoney(offer.total_payable)} />
      <View accessibilityRole="list">
        {offer.installments.map((item) => (
          <View key={item.number} style={styles.scheduleRow}>
            <Text style={styles.cell}>{item.number}</Text>
            <Text style={styles.cell}>{formatDate(item.due_date)}</Text>
            <Text style={[styles.cell, styles.right]}>{formatMoney(item.payment)}</Text>
          </View>
        ))}
      </View>
      <Message testID="offer-time-left">{t("loan.offer.timeLeft", { time: formatTimeLeft(offer.expires_at, now) })}</Message>
      <Button label={t("loan.accept")} onPress={onAccept} busy={accepting} testID="offer-accept" />
    </Section>
  );
}

function Payoff({ id }: { id: string }) {
  const quote = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/loans/{application_id}/payoff-quote", { params: { path: { application_id: id } }, body: {} })),
  });
  const settle = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/loans/{application_id}/payoff", { params: { path: { application_id: id } } })),
  });
  if (settle.data) {
    return (
      <Section title={t("loan.payoff")} testID="loan-payoff">
        <Message>{t("loan.payoffCharge")}</Message>
        <Row label={t("simulate.total")} value={formatMoney(settle.data.charge.amount)} />
        <Text selectable style={styles.code} testID="payoff-pix-code">
          {settle.data.charge.br_code}
        </Text>
        <QrCode value={settle.data.charge.br_code} label={t("installment.qr")} size={180} />
      </Section>
    );
  }
  return (
    <Section title={t("loan.payoff")} testID="loan-payoff">
      {quote.data ? (
        <>
          <Message testID="payoff-quote">
            {t("loan.payoffAmount", {
              date: formatDate(quote.data.settle_on),
              amount: formatMoney(quote.data.amount),
              discount: formatMoney(quote.data.interest_reduction),
            })}
          </Message>
          <Button label={t("loan.payoffConfirm")} kind="danger" onPress={() => settle.mutate()} busy={settle.isPending} testID="payoff-confirm" />
        </>
      ) : (
        <Button label={t("loan.payoffQuote")} kind="secondary" onPress={() => quote.mutate()} busy={quote.isPending} testID="payoff-quote-request" />
      )}
      {quote.error || settle.error ? <Message tone="error">{problemSentence(quote.error ?? settle.error)}</Message> : null}
    </Section>
  );
}

export default function LoanScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const queryClient = useQueryClient();
  const loan = useLoan(id);
  const me = useMe(false);
  const status = loan.data?.status ?? "submitted";
  // The contract step (status offer_accepted until the CCB is sent) refuses to issue a contract
  // without the borrower's address: the loan view does not say why it waits, the profile does.
  const waitsForAddress = status === "offer_accepted" && me.data !== undefined && !me.data.address;
  const installments = useInstallments(id, status === "disbursed");
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [copied, setCopied] = useState<number | null>(null);

  const refresh = () => queryClient.invalidateQueries({ queryKey: ["loan", id] });
  const accept = useMutation({
    mutationFn: (offerId: string) =>
      unwrap(api.POST("/v1/loans/{application_id}/accept", { params: { path: { application_id: id } }, body: { offer_id: offerId } })),
    onSuccess: refresh,
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/loans/{application_id}/cancel", { params: { path: { application_id: id } } })),
    onSuccess: refresh,
  });

  if (!loan.data) {
    return (
      <Screen>
        {loan.error ? <Message tone="error">{problemSentence(loan.error)}</Message> : <Loading label={t("common.loading")} />}
      </Screen>
    );
  }
  const data = loan.data;
  const reached = (data.steps ?? []).map((s) => s.step);
  const disbursement = [...(data.steps ?? [])].reverse().find((s) => s.step === "disbursement" || s.step === "disbursed");
  return (
    <Screen testID="screen-loan">
      <Title>
        {formatMoney(data.amount)} · {data.term_months}x
      </Title>
      <Text style={styles.status} testID="loan-status" dataSet={{ status }} accessibilityRole="text">
        {statusText(status)}
      </Text>
      {data.reason ? <Message tone={isTerminal(status) ? "error" : "info"}>{reasonText(data.reason)}</Message> : null}
      <Section title={t("loan.timeline")}>
        <StatusTimeline status={status} reached={reached} waiting={waitsForAddress ? t("address.missing") : null} />
      </Section>
      {waitsForAddress ? <AddressPrompt contractWaiting /> : null}
      {status === "offer_ready" && data.offer ? (
        <Offer offer={data.offer} onAccept={() => accept.mutate(data.offer!.offer_id)} accepting={accept.isPending} />
      ) : null}
      {accept.error ? <Message tone="error">{problemSentence(accept.error)}</Message> : null}
      {status === "contract_sent" && data.signing_url ? (
        <Section title={t("loan.sign")}>
          <Message>{t("loan.signHint")}</Message>
          <Button label={t("loan.sign")} onPress={() => void openSigning(data.signing_url!)} testID="sign-open" />
        </Section>
      ) : null}
      {status === "disbursed" && data.offer ? (
        <Section title={t("loan.disbursed")} testID="loan-disbursement">
          <Message tone="ok" testID="loan-released">{t("loan.released", { amount: formatMoney(data.offer.amount_released) })}</Message>
          {disbursement ? <Row label="PIX" value={formatDate(disbursement.at)} /> : null}
        </Section>
      ) : null}
      {status === "disbursed" ? (
        <Section title={t("loan.installments")}>
          {installments.isPending ? <Loading label={t("common.loading")} /> : null}
          {installments.data?.items.map((item) => (
            <InstallmentCard
              key={item.number}
              installment={item}
              copied={copied === item.number}
              onCopy={async (code) => {
                await Clipboard.setStringAsync(code);
                setCopied(item.number);
              }}
            />
          ))}
        </Section>
      ) : null}
      {status === "disbursed" && installments.data?.items.some((i) => i.status === "open") ? <Payoff id={id} /> : null}
      {CANCELLABLE.has(status) ? (
        confirmCancel ? (
          <Section>
            <Message>{t("loan.cancelConfirm")}</Message>
            <Button label={t("common.confirm")} kind="danger" onPress={() => cancel.mutate()} busy={cancel.isPending} testID="loan-cancel-confirm" />
            <Button label={t("common.back")} kind="secondary" onPress={() => setConfirmCancel(false)} />
          </Section>
        ) : (
          <Button label={t("loan.cancel")} kind="secondary" onPress={() => setConfirmCancel(true)} testID="loan-cancel" />
        )
      ) : null}
      {cancel.error ? <Message tone="error">{problemSentence(cancel.error)}</Message> : null}
    </Screen>
  );
}

const styles = StyleSheet.create({
  status: { fontSize: 18, fontWeight: "700", color: colors.brand },
  scheduleRow: { flexDirection: "row", paddingVertical: 2 },
  cell: { flex: 1, color: colors.text },
  right: { textAlign: "right" },
  code: { fontFamily: "monospace", fontSize: 12, color: colors.text, backgroundColor: colors.surface, padding: 8 },
});
