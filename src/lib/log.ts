/**
 * The one structured logger of the Worker code: one JSON object per line, `{level, msg, ...fields}`,
 * through the runtime's console (Workers Logs and `wrangler tail` keep the level). Fields must never
 * hold a secret or a request body.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const write = (level: LogLevel, msg: string, fields: LogFields) => console[level](JSON.stringify({ level, msg, ...fields }));

export const log = {
  info: (msg: string, fields: LogFields = {}) => write('info', msg, fields),
  warn: (msg: string, fields: LogFields = {}) => write('warn', msg, fields),
  error: (msg: string, fields: LogFields = {}) => write('error', msg, fields),
};
