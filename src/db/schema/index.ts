export * from './usage-events.ts';
