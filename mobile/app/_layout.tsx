/** Providers every screen shares, the offline banner, and the way back to log-in when a session ends. */
import { focusManager, QueryClientProvider, useQueryClient } from "@tanstack/react-query";
import { Stack, useRouter, useSegments } from "expo-router";
import { StatusBar } from "expo-status-bar";
import { useEffect, useState, useSyncExternalStore } from "react";
import { AppState, Platform, StyleSheet, View } from "react-native";
import { SafeAreaProvider, SafeAreaView } from "react-native-safe-area-context";

import { publicApi } from "@/api/client";
import { getConnectivity, subscribeConnectivity } from "@/api/network";
import { makeQueryClient } from "@/api/queries";
import { restore, useSession } from "@/auth/session";
import { OfflineBanner } from "@/components/OfflineBanner";
import { t } from "@/i18n";

const PROBE_MS = 3000;

if (Platform.OS !== "web") {
  AppState.addEventListener("change", (status) => focusManager.setFocused(status === "active"));
}

function ConnectivityBanner() {
  const queryClient = useQueryClient();
  const connectivity = useSyncExternalStore(subscribeConnectivity, getConnectivity, getConnectivity);
  const [retrying, setRetrying] = useState(false);

  const probe = async () => {
    setRetrying(true);
    try {
      const { response } = await publicApi.GET("/health/live");
      if (response.ok) await queryClient.refetchQueries({ type: "active" });
    } catch {
      // still away: the banner stays
    } finally {
      setRetrying(false);
    }
  };

  useEffect(() => {
    if (connectivity === "online") return;
    const timer = setInterval(() => void probe(), PROBE_MS);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [connectivity]);

  return <OfflineBanner connectivity={connectivity} onRetry={() => void probe()} retrying={retrying} />;
}

function SessionGuard() {
  const session = useSession();
  const segments = useSegments();
  const router = useRouter();
  const queryClient = useQueryClient();
  useEffect(() => {
    void restore();
  }, []);
  useEffect(() => {
    if (session.status !== "signedOut") return;
    queryClient.clear();
    if (segments[0] === "(auth)") return;
    if (router.canDismiss()) router.dismissAll();
    router.replace(session.ended ? "/login?ended=1" : "/login");
  }, [session, segments, router, queryClient]);
  return null;
}

export default function RootLayout() {
  const [queryClient] = useState(makeQueryClient);
  return (
    <SafeAreaProvider>
      <QueryClientProvider client={queryClient}>
        <SafeAreaView style={styles.root} edges={["top", "bottom"]}>
          <StatusBar style="dark" />
          <SessionGuard />
          <ConnectivityBanner />
          <View style={styles.root}>
            <Stack screenOptions={{ headerTitleAlign: "center", title: t("app.name") }}>
              <Stack.Screen name="index" options={{ headerShown: false }} />
              <Stack.Screen name="(auth)/login" options={{ title: t("login.title") }} />
              <Stack.Screen name="(auth)/signup" options={{ title: t("signup.title") }} />
              <Stack.Screen name="onboarding/index" options={{ title: t("onboarding.title"), headerBackVisible: false, headerLeft: () => null, gestureEnabled: false }} />
              <Stack.Screen name="loans/index" options={{ title: t("loans.title"), headerBackVisible: false, headerLeft: () => null, gestureEnabled: false }} />
              <Stack.Screen name="loans/simulate" options={{ title: t("simulate.title") }} />
              <Stack.Screen name="loans/[id]" options={{ title: t("loan.title") }} />
              <Stack.Screen name="profile/address" options={{ title: t("address.title") }} />
            </Stack>
          </View>
        </SafeAreaView>
      </QueryClientProvider>
    </SafeAreaProvider>
  );
}

const styles = StyleSheet.create({ root: { flex: 1, backgroundColor: "#fff" } });
