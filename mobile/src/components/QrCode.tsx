/** A QR code drawn with plain views (no canvas, no SVG), so it renders the same on a phone and the web. */
import { create } from "qrcode/lib/core/qrcode";
import { useMemo } from "react";
import { StyleSheet, View } from "react-native";

/** Runs of dark modules per row: [start, length] pairs. */
export function qrRows(text: string): { size: number; rows: [number, number][][] } {
  const { modules } = create(text, { errorCorrectionLevel: "M" });
  const rows: [number, number][][] = [];
  for (let y = 0; y < modules.size; y += 1) {
    const runs: [number, number][] = [];
    let start = -1;
    for (let x = 0; x <= modules.size; x += 1) {
      const dark = x < modules.size && modules.data[y * modules.size + x] === 1;
      if (dark && start < 0) start = x;
      if (!dark && start >= 0) {
        runs.push([start, x - start]);
        start = -1;
      }
    }
    rows.push(runs);
  }
  return { size: modules.size, rows };
}

export function QrCode({ value, size = 200, label }: { value: string; size?: number; label: string }) {
  const { size: modules, rows } = useMemo(() => qrRows(value), [value]);
  const cell = size / (modules + 8);
  return (
    <View accessibilityRole="image" accessibilityLabel={label} style={[styles.frame, { width: size, height: size, padding: cell * 4 }]}>
      {rows.map((runs, y) => (
        <View key={y} style={{ height: cell, flexDirection: "row" }}>
          {runs.map(([x, length]) => (
            <View key={x} style={{ position: "absolute", left: x * cell, width: length * cell, height: cell, backgroundColor: "#000" }} />
          ))}
        </View>
      ))}
    </View>
  );
}

const styles = StyleSheet.create({ frame: { backgroundColor: "#fff", alignSelf: "center" } });
