/**
 * The app's one API client, generated from the BFF's OpenAPI document (`schema.d.ts`, see
 * scripts/gen-api.sh). Every request goes through here: the base URL, the bearer token (refreshed
 * before it expires), a timeout, and the connectivity the offline banner shows.
 */
import createClient, { type Middleware } from "openapi-fetch";

import { NetworkError, setConnectivity } from "./network";
import { ApiProblem, type Problem } from "./problems";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

declare global {
  // Set before the app loads by whoever serves a build against another BFF (the browser tests do).
  var __LENDFLOW_API_URL__: string | undefined;
}

export const REQUEST_TIMEOUT_MS = 15_000;

export function apiBaseUrl(): string {
  return globalThis.__LENDFLOW_API_URL__ ?? process.env.EXPO_PUBLIC_API_URL ?? "http://127.0.0.1:8000";
}

async function fetchWithTimeout(request: Request): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(new Request(request, { signal: controller.signal }));
    setConnectivity("online");
    return response;
  } catch {
    const kind = controller.signal.aborted ? "timeout" : "offline";
    setConnectivity(kind);
    throw new NetworkError(kind);
  } finally {
    clearTimeout(timer);
  }
}

/** No bearer token: log-in, refresh, register, simulations, health. */
export const publicApi = createClient<paths>({ baseUrl: apiBaseUrl(), fetch: fetchWithTimeout });

/** The customer's calls: `auth` (src/auth/session.ts) adds the bearer token and refreshes it. */
export const api = createClient<paths>({ baseUrl: apiBaseUrl(), fetch: fetchWithTimeout });

export function useAuthMiddleware(middleware: Middleware): void {
  api.use(middleware);
}

function asProblem(error: unknown, response: Response): Problem {
  if (error && typeof error === "object" && "status" in error && "title" in error && "type" in error) {
    return error as Problem;
  }
  return { type: "about:blank", title: response.statusText || "error", status: response.status };
}

/** The answer's data, or an ApiProblem for a 4xx/5xx. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiProblem(asProblem(error, response));
  return data as T;
}
