import { render, screen } from "@testing-library/react-native";

import { StatusTimeline, timelineSteps } from "@/components/StatusTimeline";

describe("StatusTimeline", () => {
  it("marks the steps before the current one done and the ones after it to come", () => {
    render(<StatusTimeline status="contract_sent" />);
    expect(screen.getByLabelText("Oferta aceita: concluído")).toBeOnTheScreen();
    expect(screen.getByLabelText("Contrato para assinar: em andamento")).toBeOnTheScreen();
    expect(screen.getByLabelText("Dinheiro liberado: a seguir")).toBeOnTheScreen();
  });

  it("counts a manual review as part of the analysis", () => {
    render(<StatusTimeline status="manual_review" />);
    expect(screen.getByLabelText("Em análise: em andamento")).toBeOnTheScreen();
  });

  it("ends the line where an application stopped", () => {
    const steps = timelineSteps("declined", ["submitted", "analyzing"]);
    expect(steps.map((s) => s.state)).toEqual(["done", "done", "failed"]);
    render(<StatusTimeline status="declined" reached={["submitted", "analyzing"]} />);
    expect(screen.getByLabelText("Pedido recusado: encerrado")).toBeOnTheScreen();
    expect(screen.queryByLabelText(/Dinheiro liberado/)).toBeNull();
  });

  it("shows every step done once the money is out", () => {
    expect(timelineSteps("disbursed").every((s) => s.state === "done")).toBe(true);
  });
});
