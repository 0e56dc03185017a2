/** Where the token set is kept. Synchronous, like Web Storage. */
export interface TokenStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

/** The default: tokens live only in this page's memory (gone on reload; siblings share them over BroadcastChannel). */
export function memoryStorage(): TokenStorage {
  const m = new Map<string, string>();
  return {
    get: (k) => m.get(k) ?? null,
    set: (k, v) => void m.set(k, v),
    remove: (k) => void m.delete(k),
  };
}

/** A Web Storage object (sessionStorage, localStorage) as a TokenStorage. */
export function webStorage(store: Storage): TokenStorage {
  return {
    get: (k) => store.getItem(k),
    set: (k, v) => store.setItem(k, v),
    remove: (k) => store.removeItem(k),
  };
}

/** Tokens survive a reload of this tab, not other tabs. */
export const sessionStorageAdapter = (): TokenStorage => webStorage(globalThis.sessionStorage);

/**
 * Opt-in: tokens survive across tabs and restarts, and any script that runs
 * on the origin (an XSS) can read them. Prefer memory, or a back end that
 * keeps tokens in httpOnly cookies (@oneauth/node's BFF helper).
 */
export const localStorageAdapter = (): TokenStorage => webStorage(globalThis.localStorage);
