import { zodResolver } from "@hookform/resolvers/zod";
import { fireEvent, render, screen, waitFor } from "@testing-library/react-native";
import { useForm } from "react-hook-form";

import { AddressFields, addressBody, addressSchema, EMPTY_ADDRESS, type AddressForm } from "@/components/AddressFields";
import { Button } from "@/components/ui";

function Harness({ onSubmit }: { onSubmit: (body: ReturnType<typeof addressBody>) => void }) {
  const { control, handleSubmit, formState } = useForm<AddressForm>({ resolver: zodResolver(addressSchema), defaultValues: EMPTY_ADDRESS });
  return (
    <>
      <AddressFields control={control} errors={formState.errors} />
      <Button label="Enviar" onPress={handleSubmit((form) => onSubmit(addressBody(form)))} />
    </>
  );
}

function fill(values: Partial<Record<string, string>>) {
  for (const [label, text] of Object.entries(values)) fireEvent.changeText(screen.getByLabelText(label), text ?? "");
}

const PAULISTA = { CEP: "01310100", "Logradouro (rua, avenida…)": "Avenida Paulista", Número: "1578", Bairro: "Bela Vista", Cidade: "São Paulo", UF: "sp" };

describe("AddressFields", () => {
  it("puts the 00000-000 mask in the CEP and capitals in the UF while the customer types", () => {
    render(<Harness onSubmit={jest.fn()} />);
    fill({ CEP: "01310a1001234", UF: "s1p" });
    expect(screen.getByLabelText("CEP").props.value).toBe("01310-100");
    expect(screen.getByLabelText("UF").props.value).toBe("SP");
  });

  it("sends the BFF's address: the CEP's digits, the UF, no empty complement", async () => {
    const onSubmit = jest.fn();
    render(<Harness onSubmit={onSubmit} />);
    fill(PAULISTA);
    fireEvent.press(screen.getByRole("button", { name: "Enviar" }));
    await waitFor(() =>
      expect(onSubmit).toHaveBeenCalledWith({
        postal_code: "01310100",
        street: "Avenida Paulista",
        number: "1578",
        complement: null,
        district: "Bela Vista",
        city: "São Paulo",
        state: "SP",
      }),
    );
  });

  it("says what is wrong with a short CEP, an unknown UF and a missing street, and sends nothing", async () => {
    const onSubmit = jest.fn();
    render(<Harness onSubmit={onSubmit} />);
    fill({ ...PAULISTA, CEP: "0131010", UF: "XX", "Logradouro (rua, avenida…)": " " });
    fireEvent.press(screen.getByRole("button", { name: "Enviar" }));
    const alerts = await screen.findAllByRole("alert");
    expect(alerts.map((alert) => alert.props.children)).toEqual([
      "CEP inválido: use 8 números, por exemplo 01310-100.",
      "Informe o logradouro.",
      "UF inválida: use a sigla do estado, por exemplo SP.",
    ]);
    expect(onSubmit).not.toHaveBeenCalled();
  });
});
