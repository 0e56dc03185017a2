import type { TokenSet } from '@oneauth/core';

/** What the tabs of one app (one client id, one origin) tell each other. */
export type TabMessage =
  | { type: 'hello'; from: string }
  | { type: 'tokens'; from: string; tokens: TokenSet }
  | { type: 'refreshing'; from: string; rt: string }
  | { type: 'logout'; from: string };

/** A message as sent: the sender's id is added. */
type Outgoing = TabMessage extends infer M ? (M extends TabMessage ? Omit<M, 'from'> : never) : never;

export interface LockManagerLike {
  request<T>(name: string, cb: () => Promise<T>): Promise<T>;
}

export interface ChannelLike {
  postMessage(m: unknown): void;
  close(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One refresh at a time across the app's tabs, so a rotating refresh token
 * is never spent twice. With the Web Locks API the refresh runs under a
 * lock; without it, tabs announce a refresh on the BroadcastChannel and the
 * lowest tab id goes while the others wait for its tokens.
 */
export class Tabs {
  readonly id = Math.random().toString(36).slice(2) + Date.now().toString(36);
  /** Refresh tokens another tab is spending now, and which tab. */
  private readonly othersRefreshing = new Map<string, string>();
  private tokenWaiters: Array<() => void> = [];

  constructor(
    private readonly lockName: string,
    private readonly channel: ChannelLike | null,
    private readonly locks: LockManagerLike | null,
    private readonly onMessage: (m: TabMessage) => void,
  ) {
    if (channel) channel.onmessage = (ev) => this.receive(ev.data as TabMessage);
  }

  post(m: Outgoing) {
    this.channel?.postMessage({ ...m, from: this.id });
  }

  private receive(m: TabMessage) {
    if (!m || typeof m !== 'object' || m.from === this.id) return;
    if (m.type === 'refreshing') this.othersRefreshing.set(m.rt, m.from);
    if (m.type === 'tokens' || m.type === 'logout') {
      this.othersRefreshing.clear();
      this.onMessage(m);
      const waiters = this.tokenWaiters;
      this.tokenWaiters = [];
      for (const w of waiters) w();
      return;
    }
    this.onMessage(m);
  }

  /** Resolves when another tab sends tokens or logs out, or after `ms`. */
  private otherTabsTokens(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.tokenWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Runs `refresh` (which spends refresh token `rt`) alone among the tabs. */
  async exclusive<T>(rt: string, refresh: () => Promise<T>): Promise<T> {
    const run = async () => {
      // Another tab is already spending this token: its answer is ours.
      if (this.othersRefreshing.has(rt)) await this.otherTabsTokens(3000);
      this.post({ type: 'refreshing', rt });
      return refresh();
    };
    if (this.locks) return this.locks.request(this.lockName, run);
    if (!this.channel) return refresh();
    this.post({ type: 'refreshing', rt });
    await sleep(50);
    const other = this.othersRefreshing.get(rt);
    if (other !== undefined && other < this.id) await this.otherTabsTokens(3000);
    return refresh();
  }

  close() {
    if (this.channel) this.channel.onmessage = null;
    this.channel?.close();
    for (const w of this.tokenWaiters) w();
    this.tokenWaiters = [];
  }
}
