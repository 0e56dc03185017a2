/** The token endpoint's answer (RFC 6749 §5.1), as OneAuth sends it. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

/** Tokens as the SDKs keep them: absolute expiry in epoch milliseconds. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
  /** When the access token expires (epoch ms); undefined when the server did not say. */
  expiresAt?: number;
}

export function tokenSetFrom(r: TokenResponse, now: number, previous?: TokenSet): TokenSet {
  return {
    accessToken: r.access_token,
    // A refresh answer may leave out what did not change.
    refreshToken: r.refresh_token ?? previous?.refreshToken,
    idToken: r.id_token ?? previous?.idToken,
    scope: r.scope ?? previous?.scope,
    expiresAt: typeof r.expires_in === 'number' ? now + r.expires_in * 1000 : undefined,
  };
}

/**
 * How long to wait before refreshing: `before` ms ahead of expiry, but
 * never earlier than halfway through the token's remaining life (a margin
 * as long as the lifetime would refresh in a loop); undefined when there
 * is no expiry.
 */
export function refreshDelay(expiresAt: number | undefined, now: number, before: number): number | undefined {
  if (expiresAt === undefined) return undefined;
  const left = expiresAt - now;
  return Math.max(0, left - before, left / 2);
}
