import { Logger } from "../../src/log.js";

/** A `Logger` that keeps its lines instead of printing them. */
export class RecordingLog extends Logger {
  readonly lines: Array<{ level: "debug" | "info" | "warn" | "error"; text: string }> = [];

  override debug(...args: unknown[]): void {
    this.lines.push({ level: "debug", text: args.map(String).join(" ") });
  }

  override info(...args: unknown[]): void {
    this.lines.push({ level: "info", text: args.map(String).join(" ") });
  }

  override warn(...args: unknown[]): void {
    this.lines.push({ level: "warn", text: args.map(String).join(" ") });
  }

  override error(...args: unknown[]): void {
    this.lines.push({ level: "error", text: args.map(String).join(" ") });
  }

  /** The warnings and errors logged. */
  get problems(): string[] {
    return this.lines.filter((line) => line.level === "warn" || line.level === "error").map((line) => line.text);
  }
}
