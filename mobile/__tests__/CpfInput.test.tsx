import { fireEvent, render, screen } from "@testing-library/react-native";
import { useState } from "react";

import { CpfInput } from "@/components/CpfInput";

function Harness() {
  const [value, setValue] = useState("");
  return <CpfInput value={value} onChange={setValue} error={value.length === 14 && value.endsWith("4") ? "CPF inválido" : undefined} />;
}

describe("CpfInput", () => {
  it("puts the 000.000.000-00 mask in while the customer types", () => {
    render(<Harness />);
    const input = screen.getByLabelText("CPF");
    fireEvent.changeText(input, "52998224725");
    expect(screen.getByLabelText("CPF").props.value).toBe("529.982.247-25");
  });

  it("drops what is not a digit and stops at eleven digits", () => {
    render(<Harness />);
    fireEvent.changeText(screen.getByLabelText("CPF"), "529a982b24725123");
    expect(screen.getByLabelText("CPF").props.value).toBe("529.982.247-25");
  });

  it("shows the error next to the field", () => {
    render(<Harness />);
    fireEvent.changeText(screen.getByLabelText("CPF"), "52998224724");
    expect(screen.getByRole("alert")).toHaveTextContent("CPF inválido");
  });
});
