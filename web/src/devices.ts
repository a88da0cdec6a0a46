/** Camera and microphone pickers, shared by the pre-join check and the meeting's device panel. */
import type { MediaDeviceInfo } from "@aimeeting/sdk";

import { h } from "./dom.js";

export type InputKind = "audioinput" | "videoinput";

/** The id of the device that `stream`'s camera (or microphone) track comes from. */
export function deviceInUse(stream: MediaStream | null, kind: InputKind): string | undefined {
  const trackKind = kind === "videoinput" ? "video" : "audio";
  return stream?.getTracks().find((track) => track.kind === trackKind)?.getSettings().deviceId;
}

/** One `<option>` per device, `using` selected; a device without a label (no permission yet)
 * is called `unnamed` and its number. */
export function deviceOptions(list: MediaDeviceInfo[], using: string | undefined, unnamed: string): HTMLOptionElement[] {
  return list.map((d, i) => h("option", { value: d.deviceId, selected: d.deviceId === using }, d.label || `${unnamed} ${i + 1}`));
}
