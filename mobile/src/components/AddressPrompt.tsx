/** What a customer without a postal address on file is told where it matters: before simulating or
 * applying, and on an application whose contract waits for it. `GET /v1/me` answers `address: null`
 * for customers registered before sign-up asked for it; the contract (CCB) is not issued without one. */
import { useRouter } from "expo-router";

import { t } from "@/i18n";
import { Button, Message, Section } from "./ui";

export function AddressPrompt({ contractWaiting = false }: { contractWaiting?: boolean }) {
  const router = useRouter();
  return (
    <Section testID="address-missing">
      <Message tone="error">{contractWaiting ? t("address.contractWaiting") : t("address.missing")}</Message>
      <Button label={t("address.add")} onPress={() => router.push("/profile/address")} testID="address-missing-add" />
    </Section>
  );
}
