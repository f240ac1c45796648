/** The customer's postal address, seen and changed: the sign-up's fields and schema, sent with
 * `PUT /v1/me/address`; the BFF's field errors land next to their fields. Customers registered before
 * the address was asked add theirs here, and the contract (CCB) step waits for it. */
import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";

import { ApiProblem, fieldErrors, problemSentence } from "@/api/problems";
import { useSaveAddress } from "@/api/queries";
import type { Schemas } from "@/api/client";
import { t } from "@/i18n";
import { maskCep } from "@/lib/address";
import { AddressFields, addressBody, addressSchema, EMPTY_ADDRESS, type AddressForm } from "./AddressFields";
import { Button, Message } from "./ui";

/** The BFF's address as the form's values (the CEP with its mask, no null complement). */
export function addressForm(address: Schemas["AddressView"] | null | undefined): AddressForm {
  if (!address) return EMPTY_ADDRESS;
  return {
    postal_code: maskCep(address.postal_code),
    street: address.street,
    number: address.number,
    complement: address.complement ?? "",
    district: address.district,
    city: address.city,
    state: address.state,
  };
}

export function AddressEditor({ current, onSaved }: { current: Schemas["AddressView"] | null | undefined; onSaved?: () => void }) {
  const { control, handleSubmit, formState, setError } = useForm<AddressForm>({
    resolver: zodResolver(addressSchema),
    defaultValues: addressForm(current),
  });
  const save = useSaveAddress();
  const submit = handleSubmit((form) =>
    save.mutate(addressBody(form), {
      onSuccess: () => onSaved?.(),
      onError: (error) => {
        if (!(error instanceof ApiProblem)) return;
        for (const [bffField, message] of Object.entries(fieldErrors(error.problem, "address"))) {
          const field = bffField.replace(/^address\./, "");
          if (field in addressSchema.shape) setError(field as keyof AddressForm, { message });
        }
      },
    }),
  );
  const named = save.error instanceof ApiProblem && Boolean(save.error.problem.errors?.length);
  return (
    <>
      <AddressFields control={control} errors={formState.errors} testID="address" />
      {save.error && !named ? (
        <Message tone="error" testID="address-error">
          {problemSentence(save.error)}
        </Message>
      ) : null}
      {save.isSuccess ? (
        <Message tone="ok" testID="address-saved">
          {t("address.saved")}
        </Message>
      ) : null}
      <Button label={t("address.save")} onPress={submit} busy={save.isPending} testID="address-submit" />
    </>
  );
}
