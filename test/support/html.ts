import { escapeToBuffer } from 'hono/utils/html';

/** `text` as the app's `html` template (hono/html) writes it into a page: `& < > " '` escaped. */
export function escapeHtml(text: string): string {
  const buffer: [string] = [''];
  escapeToBuffer(text, buffer);
  return buffer[0];
}
