export * from './usage-events.ts';
export * from './collection.ts';
export * from './projects.ts';
export * from './users.ts';
export * from './allocations.ts';
export * from './event-links.ts';
export * from './operator-sessions.ts';
