export * from './claims.ts';
export * from './topics.ts';
export * from './frames.ts';
export * from './commands.ts';
export * from './rest.ts';
export * from './limits.ts';
export * from './messages.ts';
export * from './engagement.ts';
