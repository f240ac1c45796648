/** Server state through TanStack Query: what each screen reads, and how often it asks again. */
import { keepPreviousData, QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, publicApi, unwrap, type Schemas } from "./client";
import { NetworkError } from "./network";
import { ApiProblem } from "./problems";
import type { SimulationValues } from "@/components/SimulationForm";

/** The product's reference rate for simulations, in percent a month as the BFF writes every rate
 * ("1.99" is 1,99 % a month); the offer's own rate comes from the credit analysis. */
export const REFERENCE_MONTHLY_RATE_PERCENT = "1.99";
export const PRODUCT_LIMITS = { minAmount: 500, maxAmount: 50000, minTerm: 3, maxTerm: 48 };
export const POLL_MS = 2000;

const TERMINAL = new Set(["declined", "expired", "cancelled", "failed"]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // The BFF away or slow: ask again a few times; a 4xx will not change by asking again.
        retry: (failures, error) =>
          (error instanceof NetworkError && failures < 3) || (error instanceof ApiProblem && error.status >= 500 && failures < 2),
        staleTime: 1000,
      },
      // Nothing is submitted twice behind the customer's back: a failed submission waits for their tap.
      mutations: { retry: false },
    },
  });
}

export function useMe(poll: boolean) {
  return useQuery({
    queryKey: ["me"],
    queryFn: () => unwrap(api.GET("/v1/me")),
    refetchInterval: (query) => (poll && (!query.state.data || query.state.data.status === "pending_onboarding") ? POLL_MS : false),
  });
}

/** `PUT /v1/me/address`: sets or replaces the caller's address, then asks `GET /v1/me` again so every
 * screen that prompts for a missing address stops prompting. */
export function useSaveAddress() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (address: Schemas["AddressIn"]) => unwrap(api.PUT("/v1/me/address", { body: address })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["me"] }),
  });
}

export function useDocuments(poll: boolean) {
  return useQuery({
    queryKey: ["documents"],
    queryFn: () => unwrap(api.GET("/v1/documents", { params: { query: { limit: 50 } } })),
    refetchInterval: poll ? POLL_MS : false,
  });
}

export function useLoans() {
  return useQuery({ queryKey: ["loans"], queryFn: () => unwrap(api.GET("/v1/loans")) });
}

export function useLoan(id: string) {
  return useQuery({
    queryKey: ["loan", id],
    queryFn: () => unwrap(api.GET("/v1/loans/{application_id}", { params: { path: { application_id: id } } })),
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status && (status === "disbursed" || isTerminal(status)) ? false : POLL_MS;
    },
  });
}

export function useInstallments(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["installments", id],
    queryFn: () =>
      unwrap(api.GET("/v1/loans/{application_id}/installments", { params: { path: { application_id: id }, query: { limit: 100 } } })),
    enabled,
    // While an installment is open: its charge appears, and its payment shows up, without a tap.
    refetchInterval: (query) => {
      const items = query.state.data?.items;
      return !items || items.some((i) => i.status === "open") ? POLL_MS : false;
    },
  });
}

export function useSimulation(values: SimulationValues | null) {
  return useQuery({
    queryKey: ["simulation", values],
    queryFn: (): Promise<Schemas["LoanSimulationResponse"]> =>
      unwrap(
        publicApi.POST("/v1/loan-simulations", {
          body: {
            amount: values!.amount,
            term_months: values!.term_months,
            amortization: values!.amortization,
            monthly_rate_percent: REFERENCE_MONTHLY_RATE_PERCENT,
          },
        }),
      ),
    enabled: values !== null,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}
