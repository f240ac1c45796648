import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react-native";
import type { ReactNode } from "react";

import { AddressEditor } from "@/components/AddressEditor";

const SAVED = {
  postal_code: "01310-100",
  street: "Avenida Paulista",
  number: "1578",
  complement: null,
  district: "Bela Vista",
  city: "São Paulo",
  state: "SP",
};

type Answer = { status: number; body: unknown; type?: string };
let answer: Answer;
let sent: Request[];
const realFetch = globalThis.fetch;

beforeEach(() => {
  sent = [];
  answer = { status: 200, body: SAVED };
  globalThis.fetch = jest.fn(async (request: Request) => {
    sent.push(request);
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "content-type": answer.type ?? "application/json" },
    });
  }) as typeof fetch;
});

afterAll(() => {
  globalThis.fetch = realFetch;
});

function withQueries(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false, gcTime: Infinity } } });
  client.setQueryData(["me"], { id: "c1", address: null });
  return { client, ui: <QueryClientProvider client={client}>{children}</QueryClientProvider> };
}

function fill(values: Record<string, string>) {
  for (const [label, text] of Object.entries(values)) fireEvent.changeText(screen.getByLabelText(label), text);
}

const NEW = { CEP: "20040002", "Logradouro (rua, avenida…)": "Rua da Assembleia", Número: "10", "Complemento (opcional)": "sala 2", Bairro: "Centro", Cidade: "Rio de Janeiro", UF: "rj" };

describe("AddressEditor", () => {
  it("sends PUT /v1/me/address with the address as the BFF reads it, then asks for the profile again", async () => {
    const { client, ui } = withQueries(<AddressEditor current={null} />);
    render(ui);
    fill(NEW);
    fireEvent.press(screen.getByRole("button", { name: "Salvar endereço" }));
    expect(await screen.findByText("Endereço salvo.")).toBeTruthy();
    expect(sent).toHaveLength(1);
    const [request] = sent as [Request];
    expect(request.method).toBe("PUT");
    expect(new URL(request.url).pathname).toBe("/v1/me/address");
    expect(JSON.parse(await request.text())).toEqual({
      postal_code: "20040002",
      street: "Rua da Assembleia",
      number: "10",
      complement: "sala 2",
      district: "Centro",
      city: "Rio de Janeiro",
      state: "RJ",
    });
    await waitFor(() => expect(client.getQueryState(["me"])?.isInvalidated).toBe(true));
  });

  it("starts from the address on file, with the CEP's mask", () => {
    const { ui } = withQueries(<AddressEditor current={{ ...SAVED, postal_code: "01310100" }} />);
    render(ui);
    expect(screen.getByLabelText("CEP").props.value).toBe("01310-100");
    expect(screen.getByLabelText("Cidade").props.value).toBe("São Paulo");
    expect(screen.getByLabelText("Complemento (opcional)").props.value).toBe("");
  });

  it("says what is wrong before sending anything", async () => {
    const { ui } = withQueries(<AddressEditor current={null} />);
    render(ui);
    fill({ ...NEW, CEP: "2004", UF: "ZZ" });
    fireEvent.press(screen.getByRole("button", { name: "Salvar endereço" }));
    expect(await screen.findByTestId("address-postal-code-error")).toHaveTextContent("CEP inválido: use 8 números, por exemplo 01310-100.");
    expect(screen.getByTestId("address-state-error")).toHaveTextContent("UF inválida: use a sigla do estado, por exemplo SP.");
    expect(sent).toHaveLength(0);
  });

  it("puts the BFF's 422 next to the field it names", async () => {
    answer = {
      status: 422,
      type: "application/problem+json",
      body: {
        type: "https://lendflow.example/problems/validation",
        title: "Invalid request",
        status: 422,
        errors: [{ field: "postal_code", message: "String should match pattern", type: "string_pattern_mismatch" }],
      },
    };
    const { client, ui } = withQueries(<AddressEditor current={null} />);
    render(ui);
    fill(NEW);
    fireEvent.press(screen.getByRole("button", { name: "Salvar endereço" }));
    expect(await screen.findByTestId("address-postal-code-error")).toHaveTextContent("CEP inválido: use 8 números, por exemplo 01310-100.");
    expect(screen.queryByTestId("address-error")).toBeNull();
    expect(screen.queryByText("Endereço salvo.")).toBeNull();
    expect(sent).toHaveLength(1);
    expect(client.getQueryState(["me"])?.isInvalidated).toBe(false);
  });

  it("says so when the BFF refuses without naming a field", async () => {
    answer = { status: 503, type: "application/problem+json", body: { type: "about:blank", title: "Unavailable", status: 503 } };
    const { ui } = withQueries(<AddressEditor current={SAVED} />);
    render(ui);
    fireEvent.press(screen.getByRole("button", { name: "Salvar endereço" }));
    expect(await screen.findByTestId("address-error")).toHaveTextContent("Algo deu errado. Tente de novo em instantes.");
  });
});
