export * from './protocol.ts';
export * from './gate-doc.ts';
export * from './check-gate-update.ts';
export * from './timeline.ts';
export * from './verdict.ts';
export * from './signed-ticket.ts';
export * from './resolve-ticket.ts';
export * from './mesh-auth.ts';
