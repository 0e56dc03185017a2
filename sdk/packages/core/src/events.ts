/** The SDKs' events: a listener that throws is reported as `error`, never breaks the emitter. */
export class Emitter<E extends string> {
  private readonly listeners = new Map<E, Set<(detail: unknown) => void>>();

  constructor(private readonly errorEvent: E) {}

  /** Adds a listener; answers a function that removes it. */
  on(event: E, fn: (detail: unknown) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => void set.delete(fn);
  }

  emit(event: E, detail?: unknown) {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(detail);
      } catch (e) {
        if (event !== this.errorEvent) this.emit(this.errorEvent, e);
      }
    }
  }
}
