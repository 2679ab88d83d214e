/** A tiny synchronous event emitter (no host EventEmitter in a runtime-agnostic package). */
export class Emitter<M> {
  private readonly listeners = new Map<keyof M, Set<(v: never) => void>>();

  on<K extends keyof M>(event: K, listener: (value: M[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const entry = listener as (v: never) => void;
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Calls every listener; a throwing listener is reported to `onListenerError`, never to the emitter's caller. */
  emit<K extends keyof M>(event: K, value: M[K], onListenerError?: (e: unknown) => void): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const l of [...set]) {
      try {
        (l as (v: M[K]) => void)(value);
      } catch (e) {
        onListenerError?.(e);
      }
    }
  }
}
