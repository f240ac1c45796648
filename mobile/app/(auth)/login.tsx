import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import { Link, useLocalSearchParams, useRouter } from "expo-router";
import { Controller, useForm } from "react-hook-form";
import { z } from "zod";

import { problemSentence } from "@/api/problems";
import { logIn } from "@/auth/session";
import { Button, Message, Screen, TextField, Title } from "@/components/ui";
import { t } from "@/i18n";

const schema = z.object({
  email: z.string().trim().min(3, t("field.emailInvalid")).includes("@", { message: t("field.emailInvalid") }),
  password: z.string().min(1, t("field.required")),
});
type LoginForm = z.infer<typeof schema>;

export default function Login() {
  const router = useRouter();
  const { ended } = useLocalSearchParams<{ ended?: string }>();
  const { control, handleSubmit, formState } = useForm<LoginForm>({ resolver: zodResolver(schema), defaultValues: { email: "", password: "" } });
  const login = useMutation({
    mutationFn: (form: LoginForm) => logIn(form.email.trim().toLowerCase(), form.password),
    onSuccess: () => router.replace("/"),
  });
  return (
    <Screen testID="screen-login">
      <Title>{t("login.title")}</Title>
      {ended ? <Message testID="session-ended">{t("session.ended")}</Message> : null}
      <Controller
        control={control}
        name="email"
        render={({ field }) => (
          <TextField label={t("login.email")} value={field.value} onChangeText={field.onChange} onBlur={field.onBlur} error={formState.errors.email?.message} keyboardType="email-address" autoComplete="email" testID="login-email" />
        )}
      />
      <Controller
        control={control}
        name="password"
        render={({ field }) => (
          <TextField label={t("login.password")} value={field.value} onChangeText={field.onChange} onBlur={field.onBlur} error={formState.errors.password?.message} secureTextEntry autoComplete="current-password" testID="login-password" />
        )}
      />
      {login.error ? <Message tone="error" testID="login-error">{problemSentence(login.error)}</Message> : null}
      <Button label={t("login.submit")} onPress={handleSubmit((form) => login.mutate(form))} busy={login.isPending} testID="login-submit" />
      <Link href="/signup" accessibilityRole="link" testID="to-signup">
        {t("login.toSignup")}
      </Link>
    </Screen>
  );
}
