import { OneAuthError, errorFromBody } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Sends a request and answers its JSON body, or throws a typed OneAuthError. */
export async function requestJson<T>(fetchImpl: FetchLike, url: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetchImpl(url, init);
  } catch (e) {
    throw new OneAuthError('network', 'network_error', `${init.method ?? 'GET'} ${url} failed: ${(e as Error).message}`, { cause: e });
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) throw errorFromBody(res.status, body);
  if (body === null) throw new OneAuthError('protocol', 'invalid_response', `${url} answered ${res.status} without JSON`, { status: res.status });
  return body as T;
}

export const postJson = <T>(fetchImpl: FetchLike, url: string, body: unknown, init: RequestInit = {}) =>
  requestJson<T>(fetchImpl, url, {
    ...init,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: JSON.stringify(body),
  });

export const postForm = <T>(fetchImpl: FetchLike, url: string, form: Record<string, string>, init: RequestInit = {}) =>
  requestJson<T>(fetchImpl, url, {
    ...init,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(init.headers as Record<string, string> | undefined) },
    body: new URLSearchParams(form).toString(),
  });
