export * from './usage-events.ts';
export * from './collection.ts';
