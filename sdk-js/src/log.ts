/** The SDK's logger: the console, filtered by the level of `setLogLevel`. Never a token. */
import { LogLevel } from "./types.js";

const ORDER: Record<LogLevel, number> = {
  [LogLevel.DEBUG]: 0,
  [LogLevel.INFO]: 1,
  [LogLevel.WARN]: 2,
  [LogLevel.ERROR]: 3,
};

export class Logger {
  level: LogLevel = LogLevel.WARN;

  debug(...args: unknown[]): void {
    if (this.enabled(LogLevel.DEBUG)) console.debug("[aimeeting]", ...args);
  }

  info(...args: unknown[]): void {
    if (this.enabled(LogLevel.INFO)) console.info("[aimeeting]", ...args);
  }

  warn(...args: unknown[]): void {
    if (this.enabled(LogLevel.WARN)) console.warn("[aimeeting]", ...args);
  }

  error(...args: unknown[]): void {
    if (this.enabled(LogLevel.ERROR)) console.error("[aimeeting]", ...args);
  }

  private enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }
}
