import { Text, type TextStyle } from "react-native";

import { formatMoney } from "@/lib/format";

/** An amount from the BFF ("1234.56") as "R$ 1.234,56". */
export function Money({ amount, style, testID }: { amount: string; style?: TextStyle; testID?: string }) {
  return (
    <Text style={style} testID={testID}>
      {formatMoney(amount)}
    </Text>
  );
}
