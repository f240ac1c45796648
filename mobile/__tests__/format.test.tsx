import { render, screen } from "@testing-library/react-native";

import { Money } from "@/components/Money";
import { formatDate, formatMoney, formatPercent, formatTimeLeft, maskDate, parseBrazilianDate, parseMoneyInput } from "@/lib/format";
import { isValidCpf, maskCpf } from "@/lib/cpf";

describe("money and dates in pt-BR", () => {
  it("formats the BFF's decimal strings as reais", () => {
    expect(formatMoney("1234.56")).toBe("R$ 1.234,56");
    expect(formatMoney("0.5")).toBe("R$ 0,50");
    expect(formatMoney("1000000")).toBe("R$ 1.000.000,00");
  });

  it("reads what a customer types back into the BFF's decimal string", () => {
    expect(parseMoneyInput("1.234,56")).toBe("1234.56");
    expect(parseMoneyInput("R$ 5.000")).toBe("5000.00");
    expect(parseMoneyInput("5000.5")).toBe("5000.50");
    expect(parseMoneyInput("abc")).toBeNull();
    expect(parseMoneyInput("")).toBeNull();
  });

  it("shows dates as dd/mm/aaaa and reads them back", () => {
    expect(formatDate("2026-03-05")).toBe("05/03/2026");
    expect(parseBrazilianDate("29/02/2024")).toBe("2024-02-29");
    expect(parseBrazilianDate("29/02/2023")).toBeNull();
    expect(maskDate("05031990")).toBe("05/03/1990");
  });

  it("shows percentages with a decimal comma", () => {
    expect(formatPercent("2.31")).toBe("2,31%");
  });

  it("counts down the time left to accept an offer", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(formatTimeLeft("2026-01-02T01:02:03Z", now)).toBe("1 d 01:02:03");
    expect(formatTimeLeft("2025-12-31T00:00:00Z", now)).toBe("00:00:00");
  });
});

describe("CPF", () => {
  it("accepts a CPF whose check digits match and refuses one whose do not", () => {
    expect(isValidCpf("529.982.247-25")).toBe(true);
    expect(isValidCpf("52998224725")).toBe(true);
    expect(isValidCpf("529.982.247-24")).toBe(false);
    expect(isValidCpf("111.111.111-11")).toBe(false);
    expect(isValidCpf("529.982.247")).toBe(false);
  });

  it("masks as it is typed", () => {
    expect(maskCpf("529")).toBe("529");
    expect(maskCpf("5299822")).toBe("529.982.2");
    expect(maskCpf("52998224725999")).toBe("529.982.247-25");
  });
});

describe("Money", () => {
  it("shows an amount from the BFF in reais", () => {
    render(<Money amount="1234.56" />);
    expect(screen.getByText("R$ 1.234,56")).toBeOnTheScreen();
  });
});
