/** The few building blocks every screen uses: screen, title, text field, button, messages. */
import type { ReactNode } from "react";
import { ActivityIndicator, Pressable, ScrollView, StyleSheet, Text, TextInput, View, type KeyboardTypeOptions } from "react-native";

export const colors = {
  brand: "#0B5FFF",
  text: "#14213D",
  muted: "#5C677D",
  border: "#CBD2E0",
  danger: "#B3261E",
  ok: "#1B7F3B",
  warn: "#8A5A00",
  surface: "#F4F6FB",
};

export function Screen({ children, testID }: { children: ReactNode; testID?: string }) {
  return (
    <ScrollView contentContainerStyle={styles.screen} testID={testID} keyboardShouldPersistTaps="handled">
      {children}
    </ScrollView>
  );
}

export function Title({ children }: { children: ReactNode }) {
  return (
    <Text accessibilityRole="header" style={styles.title}>
      {children}
    </Text>
  );
}

export function Section({ title, children, testID }: { title?: string; children: ReactNode; testID?: string }) {
  return (
    <View style={styles.section} testID={testID}>
      {title ? (
        <Text accessibilityRole="header" style={styles.sectionTitle}>
          {title}
        </Text>
      ) : null}
      {children}
    </View>
  );
}

export function Row({ label, value, testID }: { label: string; value: string; testID?: string }) {
  return (
    <View style={styles.row}>
      <Text style={styles.rowLabel}>{label}</Text>
      <Text style={styles.rowValue} testID={testID}>
        {value}
      </Text>
    </View>
  );
}

interface FieldProps {
  label: string;
  value: string;
  onChangeText: (text: string) => void;
  onBlur?: () => void;
  error?: string;
  testID?: string;
  secureTextEntry?: boolean;
  keyboardType?: KeyboardTypeOptions;
  autoComplete?: "email" | "password" | "name" | "tel" | "off" | "new-password" | "current-password";
  maxLength?: number;
  placeholder?: string;
}

export function TextField({ label, error, testID, ...input }: FieldProps) {
  return (
    <View style={styles.field}>
      <Text style={styles.label}>{label}</Text>
      <TextInput
        {...input}
        accessibilityLabel={label}
        aria-invalid={error ? true : undefined}
        autoCapitalize="none"
        style={[styles.input, error ? styles.inputError : null]}
        testID={testID}
      />
      {error ? (
        <Text accessibilityRole="alert" style={styles.error} testID={testID ? `${testID}-error` : undefined}>
          {error}
        </Text>
      ) : null}
    </View>
  );
}

interface ButtonProps {
  label: string;
  onPress: () => void;
  testID?: string;
  disabled?: boolean;
  busy?: boolean;
  kind?: "primary" | "secondary" | "danger";
}

export function Button({ label, onPress, testID, disabled, busy, kind = "primary" }: ButtonProps) {
  const inactive = Boolean(disabled || busy);
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityLabel={label}
      accessibilityState={{ disabled: inactive, busy: Boolean(busy) }}
      disabled={inactive}
      onPress={onPress}
      style={[styles.button, styles[kind], inactive ? styles.inactive : null]}
      testID={testID}
    >
      {busy ? <ActivityIndicator color={kind === "secondary" ? colors.brand : "#fff"} /> : null}
      <Text style={[styles.buttonText, kind === "secondary" ? styles.secondaryText : null]}>{label}</Text>
    </Pressable>
  );
}

export function Message({ children, tone = "info", testID }: { children: ReactNode; tone?: "info" | "error" | "ok"; testID?: string }) {
  return (
    <Text
      accessibilityRole={tone === "error" ? "alert" : "text"}
      style={[styles.message, tone === "error" ? styles.error : tone === "ok" ? styles.okText : null]}
      testID={testID}
    >
      {children}
    </Text>
  );
}

export function Loading({ label }: { label: string }) {
  return (
    <View style={styles.loading} accessibilityLabel={label}>
      <ActivityIndicator color={colors.brand} />
    </View>
  );
}

const styles = StyleSheet.create({
  screen: { padding: 20, gap: 12, backgroundColor: "#fff", flexGrow: 1 },
  title: { fontSize: 24, fontWeight: "700", color: colors.text, marginBottom: 4 },
  section: { gap: 8, padding: 12, borderRadius: 10, backgroundColor: colors.surface },
  sectionTitle: { fontSize: 17, fontWeight: "600", color: colors.text },
  row: { flexDirection: "row", justifyContent: "space-between", gap: 8 },
  rowLabel: { color: colors.muted, flexShrink: 1 },
  rowValue: { color: colors.text, fontWeight: "600", textAlign: "right" },
  field: { gap: 4 },
  label: { color: colors.text, fontWeight: "500" },
  input: { borderWidth: 1, borderColor: colors.border, borderRadius: 8, padding: 10, fontSize: 16, color: colors.text, backgroundColor: "#fff" },
  inputError: { borderColor: colors.danger },
  error: { color: colors.danger },
  okText: { color: colors.ok },
  message: { color: colors.text },
  button: { flexDirection: "row", gap: 8, justifyContent: "center", alignItems: "center", borderRadius: 8, paddingVertical: 12, paddingHorizontal: 16 },
  primary: { backgroundColor: colors.brand },
  secondary: { backgroundColor: "#fff", borderWidth: 1, borderColor: colors.brand },
  danger: { backgroundColor: colors.danger },
  inactive: { opacity: 0.5 },
  buttonText: { color: "#fff", fontWeight: "600", fontSize: 16 },
  secondaryText: { color: colors.brand },
  loading: { padding: 24, alignItems: "center" },
});
