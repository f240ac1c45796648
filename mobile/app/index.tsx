/** Where a customer lands: log-in, their onboarding, or their loans. */
import { Redirect } from "expo-router";

import { useMe } from "@/api/queries";
import { useSession } from "@/auth/session";
import { Loading, Screen } from "@/components/ui";
import { t } from "@/i18n";

function Landing() {
  const me = useMe(false);
  if (!me.data) {
    return (
      <Screen>
        <Loading label={t("common.loading")} />
      </Screen>
    );
  }
  return <Redirect href={me.data.status === "active" ? "/loans" : "/onboarding"} />;
}

export default function Index() {
  const session = useSession();
  if (session.status === "signedOut") return <Redirect href="/login" />;
  if (session.status === "restoring") {
    return (
      <Screen>
        <Loading label={t("common.loading")} />
      </Screen>
    );
  }
  return <Landing />;
}
