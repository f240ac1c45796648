/**
 * On the web build the refresh token lives in the tab's `sessionStorage` (see docs/mobile.md): it
 * survives a reload, is gone when the tab closes, and is never shared with other tabs. The access
 * token stays in memory only. An HttpOnly cookie would keep it out of reach of scripts, but the
 * BFF hands tokens out in the response body to every client alike, phones included.
 */
const KEY = "lendflow.refresh_token";

function store(): Storage | null {
  try {
    return typeof window !== "undefined" ? window.sessionStorage : null;
  } catch {
    return null;
  }
}

export async function loadRefreshToken(): Promise<string | null> {
  return store()?.getItem(KEY) ?? null;
}

export async function saveRefreshToken(token: string): Promise<void> {
  store()?.setItem(KEY, token);
}

export async function clearRefreshToken(): Promise<void> {
  store()?.removeItem(KEY);
}
