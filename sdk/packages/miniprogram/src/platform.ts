/**
 * What the SDK needs of a mini-program platform. `wechat(wx)` makes one
 * from WeChat's `wx`; Alipay's `my` or ByteDance's `tt` need an adapter of
 * the same shape (one small file each).
 */
export interface Platform {
  /** The platform's one-time login code (`wx.login()`). */
  login(): Promise<string>;
  request(options: { url: string; method: 'GET' | 'POST'; data?: unknown; headers?: Record<string, string> }): Promise<{ status: number; data: unknown }>;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The parts of WeChat's `wx` used here. */
export interface WxLike {
  login(opts: { success(r: { code: string }): void; fail(e: unknown): void; timeout?: number }): void;
  request(opts: {
    url: string;
    method: string;
    data?: unknown;
    header?: Record<string, string>;
    dataType?: string;
    success(r: { statusCode: number; data: unknown }): void;
    fail(e: { errMsg?: string }): void;
  }): void;
  setStorageSync(key: string, value: string): void;
  getStorageSync(key: string): unknown;
  removeStorageSync(key: string): void;
}

/** A Platform over WeChat's `wx` (also the shape of QQ's `qq`). */
export function wechat(wx: WxLike): Platform {
  return {
    login: () =>
      new Promise((resolve, reject) =>
        wx.login({
          success: (r) => (r.code ? resolve(r.code) : reject(new Error('wx.login gave no code'))),
          fail: (e) => reject(new Error(`wx.login failed: ${JSON.stringify(e)}`)),
        }),
      ),
    request: ({ url, method, data, headers }) =>
      new Promise((resolve, reject) =>
        wx.request({
          url,
          method,
          data,
          header: { 'content-type': 'application/json', ...headers },
          dataType: 'json',
          success: (r) => resolve({ status: r.statusCode, data: r.data }),
          fail: (e) => reject(new Error(e?.errMsg ?? 'wx.request failed')),
        }),
      ),
    getItem: (k) => {
      const v = wx.getStorageSync(k);
      return typeof v === 'string' && v !== '' ? v : null;
    },
    setItem: (k, v) => wx.setStorageSync(k, v),
    removeItem: (k) => wx.removeStorageSync(k),
  };
}
