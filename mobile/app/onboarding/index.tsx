/** Onboarding, live: the CPF check at the Federal Revenue and each identity document's state. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import * as ImagePicker from "expo-image-picker";
import { useRouter } from "expo-router";
import { useState } from "react";
import { Text, View } from "react-native";

import type { Schemas } from "@/api/client";
import { ApiProblem } from "@/api/problems";
import { useDocuments, useMe } from "@/api/queries";
import { uploadDocument, type DocumentKind, type PickedImage } from "@/api/upload";
import { currentAccessToken, logOut } from "@/auth/session";
import { DocumentSlot, type SlotState } from "@/components/DocumentSlot";
import { Button, Loading, Message, Row, Screen, Section, Title } from "@/components/ui";
import { reasonText, t } from "@/i18n";

const KINDS: DocumentKind[] = ["id_front", "id_back", "selfie"];
const CPF_REASONS = /^(cpf_|name_mismatch|birth_date_mismatch)/;

type Upload = { state: "uploading" | "failed"; progress: number; error?: string };

function latestByKind(documents: Schemas["DocumentView"][] | undefined): Partial<Record<DocumentKind, Schemas["DocumentView"]>> {
  const latest: Partial<Record<DocumentKind, Schemas["DocumentView"]>> = {};
  for (const doc of documents ?? []) {
    const kind = doc.document_type as DocumentKind;
    const seen = latest[kind];
    if (!seen || seen.created_at < doc.created_at) latest[kind] = doc;
  }
  return latest;
}

async function pickImage(): Promise<PickedImage | null> {
  const result = await ImagePicker.launchImageLibraryAsync({ mediaTypes: ["images"], quality: 0.8 });
  const asset = result.canceled ? undefined : result.assets[0];
  if (!asset) return null;
  return {
    uri: asset.uri,
    mimeType: asset.mimeType ?? "image/jpeg",
    fileName: asset.fileName ?? `foto.${asset.mimeType === "image/png" ? "png" : "jpg"}`,
    file: asset.file,
  };
}

function uploadError(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.status === 413) return t("document.tooLarge");
    if (error.status === 415 || error.status === 422) return t("document.badType");
  }
  return t("document.state.failed");
}

export default function Onboarding() {
  const router = useRouter();
  const queryClient = useQueryClient();
  const me = useMe(true);
  const pending = !me.data || me.data.status === "pending_onboarding";
  const documents = useDocuments(pending);
  const [uploads, setUploads] = useState<Partial<Record<DocumentKind, Upload>>>({});

  const upload = useMutation({
    mutationFn: async ({ kind, image }: { kind: DocumentKind; image: PickedImage }) => {
      const token = await currentAccessToken();
      return uploadDocument(kind, image, token, (progress) => setUploads((u) => ({ ...u, [kind]: { state: "uploading", progress } })));
    },
    onMutate: ({ kind }) => setUploads((u) => ({ ...u, [kind]: { state: "uploading", progress: 0 } })),
    onSuccess: async (_doc, { kind }) => {
      await queryClient.invalidateQueries({ queryKey: ["documents"] });
      setUploads((u) => ({ ...u, [kind]: undefined }));
    },
    onError: (error, { kind }) => setUploads((u) => ({ ...u, [kind]: { state: "failed", progress: 0, error: uploadError(error) } })),
  });

  if (!me.data) {
    return (
      <Screen>
        <Loading label={t("common.loading")} />
      </Screen>
    );
  }
  const profile = me.data;
  const reason = profile.status_reason ?? profile.onboarding?.reason ?? null;
  const cpfRefused = profile.status === "rejected" && reason !== null && CPF_REASONS.test(reason);
  const cpfState = cpfRefused ? "refused" : profile.onboarding?.step === "cpf_check" ? "checking" : "ok";
  const latest = latestByKind(documents.data?.items);

  const slotState = (kind: DocumentKind): SlotState => {
    const local = uploads[kind];
    if (local) return local.state;
    const status = latest[kind]?.status;
    return status === "validated" || status === "rejected" || status === "submitted" ? status : "pending";
  };

  return (
    <Screen testID="screen-onboarding">
      <Title>{t("onboarding.title")}</Title>
      <View testID="onboarding-status" dataSet={{ status: profile.status }}>
        {profile.status === "active" ? <Message tone="ok">{t("onboarding.active")}</Message> : null}
        {profile.status === "rejected" ? <Message tone="error">{t("onboarding.rejected")}</Message> : null}
        {profile.status === "onboarding_expired" ? <Message tone="error">{t("onboarding.expired")}</Message> : null}
      </View>
      <Section title={t("onboarding.cpf")} testID="onboarding-cpf">
        <Row
          label={profile.cpf}
          value={t(cpfState === "refused" ? "onboarding.cpf.refused" : cpfState === "checking" ? "onboarding.cpf.checking" : "onboarding.cpf.ok")}
        />
        {reason && profile.status !== "active" ? (
          <Text accessibilityRole="alert" style={{ color: "#B3261E" }} testID="onboarding-reason" dataSet={{ reason }}>
            {reasonText(reason)}
          </Text>
        ) : null}
      </Section>
      {profile.status === "pending_onboarding" && cpfState !== "checking" ? (
        <Section title={t("onboarding.documents")}>
          {KINDS.map((kind) => (
            <DocumentSlot
              key={kind}
              kind={kind}
              state={slotState(kind)}
              progress={uploads[kind]?.progress}
              error={uploads[kind]?.error}
              onPick={async () => {
                const image = await pickImage();
                if (image) upload.mutate({ kind, image });
              }}
            />
          ))}
          <Message>{t("onboarding.waiting")}</Message>
        </Section>
      ) : null}
      {profile.status === "active" ? (
        <Button label={t("onboarding.continue")} onPress={() => router.replace("/loans/simulate")} testID="onboarding-continue" />
      ) : null}
      <Button kind="secondary" label={t("common.logout")} onPress={() => void logOut()} testID="logout" />
    </Screen>
  );
}
