/** The customer's postal address: the one the contract (CCB) names them with. */
import { useRouter } from "expo-router";

import { useMe } from "@/api/queries";
import { AddressEditor } from "@/components/AddressEditor";
import { Button, Loading, Message, Screen, Title } from "@/components/ui";
import { problemSentence } from "@/api/problems";
import { t } from "@/i18n";

export default function AddressScreen() {
  const router = useRouter();
  const me = useMe(false);
  return (
    <Screen testID="screen-address">
      <Title>{t("address.title")}</Title>
      <Message>{t("address.why")}</Message>
      {me.data ? (
        // Keyed by the customer so the form starts from what the BFF has, once it has answered.
        <AddressEditor key={me.data.id} current={me.data.address} />
      ) : me.error ? (
        <Message tone="error">{problemSentence(me.error)}</Message>
      ) : (
        <Loading label={t("common.loading")} />
      )}
      <Button kind="secondary" label={t("address.toLoans")} onPress={() => (router.canGoBack() ? router.back() : router.replace("/loans"))} testID="address-back" />
    </Screen>
  );
}
