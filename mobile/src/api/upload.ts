/**
 * `POST /v1/documents` with upload progress. fetch cannot report how much of a body went out, so
 * this one call goes through XMLHttpRequest; its path, fields and answer are the generated schema's.
 */
import { Platform } from "react-native";

import { apiBaseUrl, REQUEST_TIMEOUT_MS, type Schemas } from "./client";
import { NetworkError, setConnectivity } from "./network";
import { ApiProblem } from "./problems";

export type DocumentKind = Schemas["DocumentUpload"]["type"];

export interface PickedImage {
  uri: string;
  mimeType: string;
  fileName: string;
  /** On the web, the picked File itself. */
  file?: Blob;
}

const UPLOAD_PATH: keyof import("./schema").paths = "/v1/documents";

export function uploadDocument(
  kind: DocumentKind,
  image: PickedImage,
  accessToken: string,
  onProgress: (fraction: number) => void,
): Promise<Schemas["DocumentView"]> {
  const form = new FormData();
  form.append("type", kind);
  if (Platform.OS === "web" && image.file) {
    form.append("file", image.file, image.fileName);
  } else {
    // React Native's FormData takes a file as {uri, name, type}.
    form.append("file", { uri: image.uri, name: image.fileName, type: image.mimeType } as unknown as Blob);
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${apiBaseUrl()}${UPLOAD_PATH}`);
    xhr.timeout = REQUEST_TIMEOUT_MS * 4;
    xhr.setRequestHeader("Authorization", `Bearer ${accessToken}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      setConnectivity("online");
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as Schemas["DocumentView"]);
      } else {
        const problem = (body as Schemas["Problem"] | null) ?? { type: "about:blank", title: "error", status: xhr.status };
        reject(new ApiProblem(problem));
      }
    };
    xhr.onerror = () => {
      setConnectivity("offline");
      reject(new NetworkError("offline"));
    };
    xhr.ontimeout = () => {
      setConnectivity("timeout");
      reject(new NetworkError("timeout"));
    };
    xhr.send(form);
  });
}
