/** `on`/`off`/`emit`: a handler that throws is logged, and the others still run. */
import type { Logger } from "./log.js";
import type { EventHandler } from "./types.js";

export class Emitter<E extends string> {
  private readonly handlers = new Map<E, Set<EventHandler>>();

  constructor(private readonly log: Logger) {}

  on(event: E, handler: EventHandler): void {
    let set = this.handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
  }

  off(event: E, handler: EventHandler): void {
    this.handlers.get(event)?.delete(handler);
  }

  emit(event: E, payload: unknown): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      try {
        handler(payload);
      } catch (error) {
        this.log.error(`a ${event} handler failed`, error);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}
