/** On a phone the refresh token lives in the OS keychain / keystore, through expo-secure-store. */
import * as SecureStore from "expo-secure-store";

const KEY = "lendflow.refresh_token";

export async function loadRefreshToken(): Promise<string | null> {
  return SecureStore.getItemAsync(KEY);
}

export async function saveRefreshToken(token: string): Promise<void> {
  await SecureStore.setItemAsync(KEY, token);
}

export async function clearRefreshToken(): Promise<void> {
  await SecureStore.deleteItemAsync(KEY);
}
