/** Where an application stands on the way from `submitted` to `disbursed`. */
import { StyleSheet, Text, View } from "react-native";

import { statusText } from "@/i18n";
import { colors } from "./ui";

export const JOURNEY = [
  "submitted",
  "analyzing",
  "offer_ready",
  "offer_accepted",
  "contract_sent",
  "signed",
  "disbursing",
  "disbursed",
] as const;

const TERMINAL_FAILURES = new Set(["declined", "expired", "cancelled", "failed"]);

export type StepState = "done" | "current" | "todo" | "failed";

/** The journey's steps with each one's state; `manual_review` counts as part of the analysis. */
export function timelineSteps(status: string, reached: readonly string[] = []): { status: string; state: StepState }[] {
  const current = status === "manual_review" ? "analyzing" : status;
  if (TERMINAL_FAILURES.has(current)) {
    const seen = JOURNEY.filter((step) => reached.includes(step) || step === "submitted");
    return [...seen.map((step) => ({ status: step, state: "done" as const })), { status: current, state: "failed" }];
  }
  const index = JOURNEY.indexOf(current as (typeof JOURNEY)[number]);
  return JOURNEY.map((step, i) => ({
    status: step,
    state: i < index || (current === "disbursed" && i === index) ? "done" : i === index ? "current" : "todo",
  }));
}

const MARK: Record<StepState, string> = { done: "✓", current: "●", todo: "○", failed: "✕" };
const STATE_LABEL: Record<StepState, string> = { done: "concluído", current: "em andamento", todo: "a seguir", failed: "encerrado" };

/** `waiting`, when given, says under the current step what it waits for (e.g. the customer's address). */
export function StatusTimeline({ status, reached, waiting }: { status: string; reached?: readonly string[]; waiting?: string | null }) {
  return (
    <View accessibilityRole="list" style={styles.list} testID="loan-timeline">
      {timelineSteps(status, reached).map(({ status: step, state }) => (
        <View key={step} style={styles.step}>
          <View
            accessibilityRole="text"
            accessibilityLabel={`${statusText(step)}: ${STATE_LABEL[state]}`}
            style={styles.item}
          >
            <Text style={[styles.mark, styles[state]]}>{MARK[state]}</Text>
            <Text style={[styles.text, state === "todo" ? styles.todo : null, state === "current" ? styles.currentText : null]}>
              {statusText(step)}
            </Text>
          </View>
          {state === "current" && waiting ? (
            <Text style={styles.waiting} testID="loan-timeline-waiting">
              {waiting}
            </Text>
          ) : null}
        </View>
      ))}
    </View>
  );
}

const styles = StyleSheet.create({
  list: { gap: 6 },
  step: { gap: 2 },
  waiting: { marginLeft: 28, color: colors.danger },
  item: { flexDirection: "row", gap: 10, alignItems: "center" },
  mark: { width: 18, textAlign: "center", fontSize: 16 },
  text: { color: colors.text },
  currentText: { fontWeight: "700" },
  done: { color: colors.ok },
  current: { color: colors.brand },
  todo: { color: colors.muted },
  failed: { color: colors.danger },
});
