/** Says the BFF cannot be reached (or took too long) and offers to try again. */
import { StyleSheet, Text, View } from "react-native";

import type { Connectivity } from "@/api/network";
import { t } from "@/i18n";
import { Button } from "./ui";

export function OfflineBanner({ connectivity, onRetry, retrying }: { connectivity: Connectivity; onRetry: () => void; retrying?: boolean }) {
  if (connectivity === "online") return null;
  return (
    <View accessibilityRole="alert" style={styles.banner} testID="offline-banner">
      <Text style={styles.text}>{connectivity === "timeout" ? t("offline.timeout") : t("offline.message")}</Text>
      <Button label={t("common.retry")} kind="secondary" onPress={onRetry} busy={retrying} testID="offline-retry" />
    </View>
  );
}

const styles = StyleSheet.create({
  banner: { backgroundColor: "#FFF4D6", padding: 12, gap: 8, borderBottomWidth: 1, borderColor: "#E0B84C" },
  text: { color: "#5A4000", fontWeight: "600" },
});
