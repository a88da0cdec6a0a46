/**
 * Every text the app shows, in English and Chinese, chosen by the browser's language, and
 * errors put in words (a person never sees a raw code).
 */
import { ERROR_MESSAGES, ErrorCode, MeetingError, SDKErrorCode } from "@aimeeting/sdk";

export type Language = "zh" | "en";

export const language: Language = (navigator.languages?.[0] ?? navigator.language ?? "en")
  .toLowerCase()
  .startsWith("zh")
  ? "zh"
  : "en";

const TEXTS = {
  appName: ["AI Meeting", "AI Meeting"],
  signIn: ["Sign in", "登录"],
  register: ["Create account", "注册"],
  haveAccount: ["I have an account", "已有账号"],
  newHere: ["New here? Create an account", "没有账号？注册"],
  email: ["Email", "邮箱"],
  password: ["Password", "密码"],
  passwordHint: ["8–32 characters, with a letter and a digit", "8–32 位，包含字母和数字"],
  nickname: ["Your name", "昵称"],
  signOut: ["Sign out", "退出登录"],
  signedInAs: ["Signed in as", "当前用户"],
  startMeeting: ["Start a meeting", "发起会议"],
  titleOptional: ["Title (optional)", "会议主题（可选）"],
  start: ["Start", "开始"],
  joinMeeting: ["Join a meeting", "加入会议"],
  meetingNumber: ["Meeting number", "会议号"],
  numberHint: ["9 digits", "9 位数字"],
  join: ["Join", "加入"],
  myMeetings: ["My meetings", "我创建的会议"],
  history: ["History", "参加过的会议"],
  noMeetings: ["No meetings yet.", "还没有会议。"],
  previous: ["Previous", "上一页"],
  next: ["Next", "下一页"],
  page: ["Page", "第"],
  untitled: ["Untitled meeting", "未命名会议"],
  waiting: ["waiting", "等待中"],
  active: ["in progress", "进行中"],
  ended: ["ended", "已结束"],
  open: ["Open", "进入"],
  checkDevices: ["Check your camera and microphone", "检查摄像头和麦克风"],
  camera: ["Camera", "摄像头"],
  microphone: ["Microphone", "麦克风"],
  micLevel: ["Microphone level", "麦克风音量"],
  joinMuted: ["Join with microphone muted", "加入时静音"],
  joinCameraOff: ["Join with camera off", "加入时关闭摄像头"],
  joinNow: ["Join now", "立即加入"],
  startNow: ["Start now", "立即开始"],
  back: ["Back", "返回"],
  noDevices: [
    "Your camera or microphone is not available. You can still join: you will see and hear the others.",
    "摄像头或麦克风不可用。仍可加入：你能看到并听到其他人。",
  ],
  joining: ["Joining…", "正在加入…"],
  you: ["you", "你"],
  youSender: ["You", "我"],
  mute: ["Mute", "静音"],
  unmute: ["Unmute", "取消静音"],
  stopVideo: ["Stop video", "关闭视频"],
  startVideo: ["Start video", "开启视频"],
  shareScreen: ["Share screen", "共享屏幕"],
  stopSharing: ["Stop sharing", "停止共享"],
  devices: ["Devices", "设备"],
  chat: ["Chat", "聊天"],
  participants: ["Participants", "参会者"],
  leave: ["Leave", "离开"],
  endMeeting: ["End meeting", "结束会议"],
  endConfirm: ["End the meeting for everyone?", "为所有人结束会议？"],
  cancel: ["Cancel", "取消"],
  copyNumber: ["Copy number", "复制会议号"],
  copyLink: ["Copy link", "复制链接"],
  copied: ["Copied", "已复制"],
  message: ["Message", "消息"],
  send: ["Send", "发送"],
  noMessages: ["No messages yet.", "还没有消息。"],
  unread: ["unread", "条未读"],
  reconnecting: ["Reconnecting…", "正在重新连接…"],
  muted: ["muted", "已静音"],
  cameraOff: ["camera off", "摄像头已关闭"],
  sharing: ["is sharing their screen", "正在共享屏幕"],
  screenOf: ["Screen of", "屏幕："],
  close: ["Close", "关闭"],
  meetingEndedTitle: ["The meeting has ended", "会议已结束"],
  meetingEndedText: ["Thank you for joining.", "感谢参加。"],
  meetingFullTitle: ["This meeting is full", "会议人数已满"],
  meetingFullText: ["A meeting holds up to 4 people. Try again when someone leaves.", "每场会议最多 4 人。有人离开后再试。"],
  notFoundTitle: ["No such meeting", "会议不存在"],
  notFoundText: ["Check the number: a meeting number has 9 digits.", "请检查会议号：会议号为 9 位数字。"],
  disconnectedTitle: ["You were disconnected", "连接已断开"],
  disconnectedText: ["The connection to the server was lost.", "与服务器的连接已断开。"],
  rejoin: ["Rejoin", "重新加入"],
  home: ["Back to home", "返回首页"],
  serverDown: ["Cannot reach the server. Is it running?", "无法连接服务器，请确认服务已启动。"],
  tryAgain: ["Try again", "重试"],
  inviteAssistant: ["Invite assistant", "邀请助手"],
  dismissAssistant: ["Dismiss assistant", "请助手离开"],
  captions: ["Captions", "字幕"],
  transcript: ["Transcript", "会议记录"],
  someone: ["Someone", "某人"],
  summary: ["Summary", "会议纪要"],
  summaryPending: ["The assistant is writing the summary…", "助手正在撰写纪要…"],
  summaryLater: ["The summary is not ready yet; find it later in your meeting history.", "纪要尚未完成，稍后可在参会历史中查看。"],
  keyPoints: ["Key points", "要点"],
  decisions: ["Decisions", "决定"],
  actionItems: ["Action items", "待办事项"],
  keywords: ["Keywords", "关键词"],
} as const satisfies Record<string, readonly [string, string]>;

export type TextKey = keyof typeof TEXTS;

/** Each text is [English, Chinese]: this page's half. */
const SIDE = language === "zh" ? 1 : 0;

export function t(key: TextKey): string {
  return TEXTS[key][SIDE];
}

const SDK_TEXTS: Record<SDKErrorCode, readonly [string, string]> = {
  [SDKErrorCode.INIT_FAILED]: TEXTS.serverDown,
  [SDKErrorCode.NETWORK_ERROR]: ["The network failed. Please try again.", "网络错误，请重试。"],
  [SDKErrorCode.PERMISSION_DENIED]: ["Permission denied.", "没有权限。"],
  [SDKErrorCode.DEVICE_UNAVAILABLE]: ["The camera or microphone is not available.", "摄像头或麦克风不可用。"],
  [SDKErrorCode.MEETING_NOT_FOUND]: TEXTS.notFoundTitle,
  [SDKErrorCode.INVALID_ARGUMENT]: ["Please check what you entered.", "请检查输入内容。"],
};

/** An error as a sentence for a person: the server's reason when it gave one, else the SDK's. */
export function errorText(error: unknown): string {
  if (!(error instanceof MeetingError)) {
    console.error(error); // not the SDK's: a defect of the app, to be found in the console
    return SDK_TEXTS[SDKErrorCode.NETWORK_ERROR][SIDE];
  }
  const server = error.serverCode;
  const known = server !== null ? ERROR_MESSAGES[server as ErrorCode] : undefined;
  if (known) return known[language];
  if (error.code === SDKErrorCode.INVALID_ARGUMENT && error.details && typeof error.details === "object") {
    const fields = Object.keys(error.details as object).join(", ");
    if (fields) return `${SDK_TEXTS[error.code][SIDE]} (${fields})`;
  }
  return SDK_TEXTS[error.code]?.[SIDE] ?? String(error.message);
}
