import { t } from "@/i18n";
import { maskCpf } from "@/lib/cpf";
import { TextField } from "./ui";

interface Props {
  value: string;
  onChange: (masked: string) => void;
  onBlur?: () => void;
  error?: string;
  testID?: string;
}

/** The CPF as 000.000.000-00, the mask applied while it is typed. */
export function CpfInput({ value, onChange, onBlur, error, testID }: Props) {
  return (
    <TextField
      label={t("signup.cpf")}
      value={value}
      onChangeText={(text) => onChange(maskCpf(text))}
      onBlur={onBlur}
      error={error}
      keyboardType="number-pad"
      maxLength={14}
      placeholder="000.000.000-00"
      testID={testID}
    />
  );
}
