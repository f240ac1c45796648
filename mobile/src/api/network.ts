/** Whether the BFF answers: set by every request the client makes, read by the offline banner. */

export type Connectivity = "online" | "offline" | "timeout";

let state: Connectivity = "online";
const listeners = new Set<() => void>();

export function getConnectivity(): Connectivity {
  return state;
}

export function setConnectivity(next: Connectivity): void {
  if (next === state) return;
  state = next;
  listeners.forEach((listener) => listener());
}

export function subscribeConnectivity(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The BFF could not be reached, or did not answer in time: nothing was (knowingly) done. */
export class NetworkError extends Error {
  constructor(readonly kind: "offline" | "timeout") {
    super(kind === "timeout" ? "request timed out" : "network unreachable");
    this.name = "NetworkError";
  }
}
