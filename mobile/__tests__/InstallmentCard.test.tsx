import { fireEvent, render, screen } from "@testing-library/react-native";

import type { Schemas } from "@/api/client";
import { InstallmentCard } from "@/components/InstallmentCard";

const BR_CODE = "00020101021226850014br.gov.bcb.pix2563pix.example.com/qr/v2/cobv/abc5204000053039865802BR6304ABCD";

function installment(overrides: Partial<Schemas["InstallmentView"]> = {}): Schemas["InstallmentView"] {
  return {
    number: 1,
    due_date: "2026-03-05",
    payment: "745.18",
    interest: "159.20",
    amortization: "585.98",
    balance: "7414.02",
    status: "open",
    paid_amount: null,
    paid_at: null,
    charge: { txid: "tx1", amount: "745.18", br_code: BR_CODE, payment_url: null },
    ...overrides,
  };
}

describe("InstallmentCard", () => {
  it("shows an open installment's amount, due date and PIX copia e cola, and copies it", () => {
    const onCopy = jest.fn();
    render(<InstallmentCard installment={installment()} onCopy={onCopy} />);
    expect(screen.getByText("R$ 745,18")).toBeOnTheScreen();
    expect(screen.getByText("Vence em 05/03/2026")).toBeOnTheScreen();
    expect(screen.getByText("Em aberto")).toBeOnTheScreen();
    expect(screen.getByText(BR_CODE)).toBeOnTheScreen();
    expect(screen.getByLabelText("QR code do PIX")).toBeOnTheScreen();
    fireEvent.press(screen.getByRole("button", { name: "Copiar código PIX" }));
    expect(onCopy).toHaveBeenCalledWith(BR_CODE);
  });

  it("shows a paid installment as paid, with no code to pay", () => {
    render(<InstallmentCard installment={installment({ status: "paid", paid_amount: "745.18", paid_at: "2026-03-01T12:00:00Z", charge: null })} onCopy={jest.fn()} />);
    expect(screen.getByText("Paga")).toBeOnTheScreen();
    expect(screen.getByText("Paga em 01/03/2026")).toBeOnTheScreen();
    expect(screen.queryByText(BR_CODE)).toBeNull();
    expect(screen.queryByRole("button", { name: "Copiar código PIX" })).toBeNull();
  });
});
