export { OneAuthError, type ErrorKind } from '@oneauth/core';
export { TokenVerifier, verifyAccessToken, type VerifierOptions, type AccessTokenInfo } from './verify.js';
export { requireAuth, bearerToken, type RequireAuthOptions, type RequestLike, type ResponseLike, type Next } from './middleware.js';
export { Bff, createBff, type BffOptions } from './bff.js';
