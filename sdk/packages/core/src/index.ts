export * from './errors.js';
export * from './http.js';
export * from './jwt.js';
export * from './tokens.js';
export * from './events.js';
