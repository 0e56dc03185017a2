export { OneAuthError, type ErrorKind, type TokenSet, type JwtClaims } from '@oneauth/core';
export { OneAuth, createOneAuth, type OneAuthOptions, type OneAuthEvent, type LoginResult } from './client.js';
export { type TokenStorage, memoryStorage, webStorage, sessionStorageAdapter, localStorageAdapter } from './storage.js';
export type { LockManagerLike, ChannelLike } from './tabs.js';
