/** One identity document: its state at the BFF (or the upload's progress) and a button to send it. */
import { StyleSheet, Text, View } from "react-native";

import { t, type MessageKey } from "@/i18n";
import { Button, colors } from "./ui";

export type SlotState = "pending" | "uploading" | "submitted" | "validated" | "rejected" | "failed";

interface Props {
  kind: "id_front" | "id_back" | "selfie";
  state: SlotState;
  progress?: number;
  error?: string;
  onPick: () => void;
}

export function DocumentSlot({ kind, state, progress = 0, error, onPick }: Props) {
  const label = t(`document.${kind}` as MessageKey);
  const stateText =
    state === "uploading" ? t("document.state.uploading", { percent: Math.round(progress * 100) }) : t(`document.state.${state}` as MessageKey);
  const canSend = state === "pending" || state === "failed" || state === "rejected";
  return (
    <View style={styles.slot} testID={`document-${kind}`} dataSet={{ state }}>
      <View style={styles.header}>
        <Text style={styles.title}>{label}</Text>
        <Text style={[styles.state, styles[state]]} testID={`document-${kind}-state`} dataSet={{ state }}>
          {stateText}
        </Text>
      </View>
      {state === "uploading" ? (
        <View accessibilityRole="progressbar" accessibilityValue={{ min: 0, max: 100, now: Math.round(progress * 100) }} style={styles.track}>
          <View style={[styles.bar, { width: `${Math.round(progress * 100)}%` }]} />
        </View>
      ) : null}
      {error ? (
        <Text accessibilityRole="alert" style={styles.error}>
          {error}
        </Text>
      ) : null}
      {canSend ? (
        <Button
          kind="secondary"
          label={state === "pending" ? `${t("document.pick")}: ${label}` : `${t("document.retry")}: ${label}`}
          onPress={onPick}
          testID={`document-${kind}-pick`}
        />
      ) : null}
    </View>
  );
}

const styles = StyleSheet.create({
  slot: { gap: 6, padding: 10, borderRadius: 8, borderWidth: 1, borderColor: colors.border, backgroundColor: "#fff" },
  header: { flexDirection: "row", justifyContent: "space-between", gap: 8 },
  title: { color: colors.text, fontWeight: "600", flexShrink: 1 },
  state: { fontWeight: "600" },
  pending: { color: colors.muted },
  uploading: { color: colors.brand },
  submitted: { color: colors.warn },
  validated: { color: colors.ok },
  rejected: { color: colors.danger },
  failed: { color: colors.danger },
  track: { height: 6, borderRadius: 3, backgroundColor: colors.border, overflow: "hidden" },
  bar: { height: 6, backgroundColor: colors.brand },
  error: { color: colors.danger },
});
