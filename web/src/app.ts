/** What every screen gets: the SDK and how to move to another address of the app. */
import type { MeetingSDK } from "@aimeeting/sdk";

export interface App {
  sdk: MeetingSDK;
  root: HTMLElement;
  /** Go to an address of the app (`/`, `/m/123456789`) and show it. */
  go(path: string, replace?: boolean): void;
  /** Set by the meeting screen: leaves the meeting when the page shows something else. */
  leaving: (() => Promise<void>) | null;
}

export const MEETING_NUMBER = /^[0-9]{9}$/;

/** The join link of a meeting. */
export function meetingPath(number: string): string {
  return `/m/${number}`;
}
