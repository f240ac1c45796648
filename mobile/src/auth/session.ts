/**
 * The customer's session: the access token in memory, the refresh token in the platform's store
 * (./storage.ts on a phone, ./storage.web.ts on the web). The access token is refreshed a little
 * before it expires; when the BFF refuses the refresh token (logged out elsewhere, or a reused token
 * revoked its whole family) the session ends and the app goes back to the log-in screen.
 */
import { useSyncExternalStore } from "react";

import { api, publicApi, unwrap, useAuthMiddleware, type Schemas } from "@/api/client";
import { NetworkError } from "@/api/network";
import { ApiProblem } from "@/api/problems";
import { clearRefreshToken, loadRefreshToken, saveRefreshToken } from "./storage";

export type SessionState =
  | { status: "restoring" }
  | { status: "signedOut"; ended: boolean }
  | { status: "signedIn" };

const REFRESH_MARGIN_SECONDS = 30;

let state: SessionState = { status: "restoring" };
let accessToken: string | null = null;
let expiresAt = 0;
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let inflight: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

function publish(next: SessionState): void {
  state = next;
  listeners.forEach((listener) => listener());
}

export function useSession(): SessionState {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => state,
    () => state,
  );
}

async function establish(pair: Schemas["TokenPair"]): Promise<void> {
  accessToken = pair.access_token;
  expiresAt = Date.now() + pair.expires_in * 1000;
  await saveRefreshToken(pair.refresh_token);
  if (refreshTimer) clearTimeout(refreshTimer);
  const delay = Math.max(1, pair.expires_in - REFRESH_MARGIN_SECONDS) * 1000;
  refreshTimer = setTimeout(() => void refresh(), delay);
  if (state.status !== "signedIn") publish({ status: "signedIn" });
}

async function end(ended: boolean): Promise<void> {
  accessToken = null;
  expiresAt = 0;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  await clearRefreshToken();
  publish({ status: "signedOut", ended });
}

/** Trades the stored refresh token for a new pair; one at a time. False when there is no session. */
export function refresh(): Promise<boolean> {
  inflight ??= (async () => {
    const token = await loadRefreshToken();
    if (!token) {
      if (state.status !== "signedOut") await end(state.status === "signedIn");
      return false;
    }
    try {
      await establish(await unwrap(publicApi.POST("/v1/auth/refresh", { body: { refresh_token: token } })));
      return true;
    } catch (error) {
      if (error instanceof NetworkError) {
        // The BFF is away: keep the session; the banner says so and the next request tries again.
        if (state.status === "restoring") publish({ status: "signedIn" });
        return false;
      }
      if (error instanceof ApiProblem && (error.status === 401 || error.status === 422)) await end(true);
      return false;
    }
  })().finally(() => {
    inflight = null;
  });
  return inflight;
}

export async function logIn(email: string, password: string): Promise<void> {
  await establish(await unwrap(publicApi.POST("/v1/auth/token", { body: { email, password } })));
}

export async function logOut(): Promise<void> {
  try {
    if (accessToken) await api.POST("/v1/auth/logout");
  } catch {
    // Logging out here is what matters; the BFF's session expires on its own.
  }
  await end(false);
}

/** On start: a stored refresh token resumes the session. */
export async function restore(): Promise<void> {
  if (state.status !== "restoring") return;
  const token = await loadRefreshToken();
  if (!token) {
    publish({ status: "signedOut", ended: false });
    return;
  }
  await refresh();
}

useAuthMiddleware({
  async onRequest({ request }) {
    if (accessToken && expiresAt - Date.now() < REFRESH_MARGIN_SECONDS * 1000) await refresh();
    if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has("Authorization") && !request.url.endsWith("/v1/auth/logout")) {
      // The access token was refused: one refresh; a refused refresh ends the session.
      await refresh();
    }
    return response;
  },
});

/** A fresh access token for a call that cannot go through the client's middleware (uploads). */
export async function currentAccessToken(): Promise<string> {
  if (!accessToken || expiresAt - Date.now() < REFRESH_MARGIN_SECONDS * 1000) await refresh();
  if (!accessToken) throw new ApiProblem({ type: "about:blank", title: "Unauthorized", status: 401 });
  return accessToken;
}
