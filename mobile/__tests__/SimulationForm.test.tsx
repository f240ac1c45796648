import { fireEvent, render, screen, waitFor } from "@testing-library/react-native";

import { SimulationForm } from "@/components/SimulationForm";

const LIMITS = { minAmount: 500, maxAmount: 50000, minTerm: 3, maxTerm: 48 };

describe("SimulationForm", () => {
  it("reports the amount as the BFF's decimal string, the term and the amortization", async () => {
    const onValid = jest.fn();
    render(<SimulationForm limits={LIMITS} onValid={onValid} onSubmit={jest.fn()} />);
    fireEvent.changeText(screen.getByLabelText("Quanto você precisa (R$)"), "8.000,00");
    fireEvent.changeText(screen.getByLabelText("Número de parcelas"), "24");
    fireEvent.press(screen.getByRole("radio", { name: "SAC (parcelas decrescentes)" }));
    await waitFor(() => expect(onValid).toHaveBeenLastCalledWith({ amount: "8000.00", term_months: 24, amortization: "sac" }));
    expect(screen.getByRole("radio", { name: "SAC (parcelas decrescentes)" })).toBeChecked();
  });

  it("says what is wrong with an amount outside the product and does not report it", async () => {
    const onValid = jest.fn();
    const onSubmit = jest.fn();
    render(<SimulationForm limits={LIMITS} onValid={onValid} onSubmit={onSubmit} />);
    await waitFor(() => expect(onValid).toHaveBeenCalledTimes(1));
    fireEvent.changeText(screen.getByLabelText("Quanto você precisa (R$)"), "100,00");
    fireEvent.press(screen.getByRole("button", { name: "Simular" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("O valor deve ficar entre R$ 500,00 e R$ 50.000,00.");
    expect(onSubmit).not.toHaveBeenCalled();
    expect(onValid).toHaveBeenCalledTimes(1);
  });

  it("submits the current values", async () => {
    const onSubmit = jest.fn();
    render(<SimulationForm limits={LIMITS} onValid={jest.fn()} onSubmit={onSubmit} />);
    fireEvent.changeText(screen.getByLabelText("Número de parcelas"), "6");
    fireEvent.press(screen.getByRole("button", { name: "Simular" }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ amount: "5000.00", term_months: 6, amortization: "price" }));
  });
});
