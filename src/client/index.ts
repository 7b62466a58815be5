/** The ingest client for integrators (see README.md here). */
export { createIngestClient, type IngestClient, type IngestClientOptions } from './ingest-client.ts';
export type { FetchLike } from './attempt.ts';
export type { BatchResult, ClientProblem, IngestClientEvent, SendFailure, SendFailureKind, SendReport, SendTotals } from './report.ts';
export { parseRetryAfter } from './retry.ts';
export { type EventIssue, IngestValidationError } from './validate.ts';
export type { Problem } from '../contracts/problem.ts';
export {
  type IngestResponse,
  MAX_EVENTS_PER_REQUEST,
  type UsageEvent,
  type UsageEventInput,
} from '../contracts/usage-event.ts';
export {
  type DirectoryClientOptions,
  type DirectoryExport,
  DirectorySyncError,
  type PushTotals,
  pushDirectory,
} from './directory-client.ts';
