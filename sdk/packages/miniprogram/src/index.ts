export { OneAuthError, type ErrorKind, type TokenSet } from '@oneauth/core';
export { MiniProgramAuth, createMiniProgramAuth, type MiniProgramAuthOptions, type MiniProgramEvent, type PhoneBinding } from './client.js';
export { type Platform, type WxLike, wechat } from './platform.js';
