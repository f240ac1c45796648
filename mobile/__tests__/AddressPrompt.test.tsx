import { fireEvent, render, screen, within } from "@testing-library/react-native";

import { AddressPrompt } from "@/components/AddressPrompt";
import { StatusTimeline } from "@/components/StatusTimeline";

const mockPush = jest.fn();
jest.mock("expo-router", () => ({ useRouter: () => ({ push: mockPush }) }));

describe("a customer without an address on file", () => {
  beforeEach(() => mockPush.mockClear());

  it("is asked for it before simulating, and taken to the address screen", () => {
    render(<AddressPrompt />);
    expect(screen.getByRole("alert")).toHaveTextContent("Informe seu endereço para emitir o contrato.");
    fireEvent.press(screen.getByRole("button", { name: "Informar endereço" }));
    expect(mockPush).toHaveBeenCalledWith("/profile/address");
  });

  it("is told that the contract waits for it when an application is at the contract step", () => {
    render(<AddressPrompt contractWaiting />);
    expect(screen.getByRole("alert")).toHaveTextContent("O contrato está esperando seu endereço: informe-o para que possamos emiti-lo.");
  });

  it("sees on the timeline that the current step waits for the address", () => {
    render(<StatusTimeline status="offer_accepted" reached={["submitted", "analyzing", "offer_ready", "offer_accepted"]} waiting="Informe seu endereço para emitir o contrato." />);
    const note = screen.getByTestId("loan-timeline-waiting");
    expect(note).toHaveTextContent("Informe seu endereço para emitir o contrato.");
    // Under the step in progress, not under one done or to come.
    expect(within(note.parent!.parent!).getByLabelText("Oferta aceita: em andamento")).toBeOnTheScreen();
  });

  it("sees no note on a timeline that waits for nothing", () => {
    render(<StatusTimeline status="offer_accepted" />);
    expect(screen.queryByTestId("loan-timeline-waiting")).toBeNull();
  });
});
