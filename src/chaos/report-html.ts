// Text for the HTML report: escaping and compact, bounded renderings of recorded values. Keys
// and values are arbitrary bytes from the workload, so every piece of text goes through
// `escapeHtml` before it reaches the document; nothing recorded is ever emitted raw.

import { isPrintableUtf8 } from './report-history.js';

/** A rendered value longer than this is cut, so one huge value cannot swamp a table cell. */
export const MAX_VALUE_DISPLAY_CHARS = 160;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Safe in element content and in quoted attribute values, in HTML and in inline SVG alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/** Milliseconds as a person reads them: "850 ms", "12.34 s". */
export function formatMs(ms: number): string {
  if (Math.abs(ms) < 1000) return `${ms.toFixed(ms % 1 === 0 ? 0 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Milliseconds to the microsecond, for tables where the order of two events is the point. */
export function formatExactMs(ms: number): string {
  return `${Number(ms.toFixed(3))} ms`;
}

/**
 * A one-line rendering of a recorded input or output: strings quoted with control characters
 * escaped, bigints as digits, bytes as text if printable else hex. Cut at `maxChars`.
 */
export function formatValue(value: unknown, maxChars = MAX_VALUE_DISPLAY_CHARS): string {
  const parts: string[] = [];
  const budget = { remaining: maxChars + 1 };
  appendValue(value, parts, budget, 0);
  const text = parts.join('');
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

function appendValue(value: unknown, parts: string[], budget: { remaining: number }, depth: number): void {
  // Stop descending once the budget is spent: the rendering is cut there anyway.
  if (budget.remaining <= 0) return;
  const piece = renderScalar(value, depth);
  if (piece !== null) {
    parts.push(piece);
    budget.remaining -= piece.length;
    return;
  }
  const push = (text: string): void => {
    parts.push(text);
    budget.remaining -= text.length;
  };
  if (Array.isArray(value)) {
    push('[');
    value.forEach((item, index) => {
      if (index > 0) push(', ');
      appendValue(item, parts, budget, depth + 1);
    });
    push(']');
    return;
  }
  push('{');
  let first = true;
  for (const [key, item] of Object.entries(value as object)) {
    if (item === undefined) continue;
    if (budget.remaining <= 0) break;
    push(`${first ? '' : ', '}${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: `);
    appendValue(item, parts, budget, depth + 1);
    first = false;
  }
  push('}');
}

/** The rendering of anything but an array or plain object, or null for those two. */
function renderScalar(value: unknown, depth: number): string | null {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString(10);
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return '—';
    case 'object':
      break;
    default:
      return `<${typeof value}>`;
  }
  if (value === null) return 'null';
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (isPrintableUtf8(bytes)) return JSON.stringify(bytes.toString('utf8'));
    // Only as many bytes as could be shown: a megabyte value must not become a 2 MB hex string.
    const shown = bytes.subarray(0, MAX_VALUE_DISPLAY_CHARS);
    return `0x${shown.toString('hex')}${shown.length < bytes.length ? '…' : ''}`;
  }
  if (depth > 8) return '…';
  if (Array.isArray(value)) return null;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return null;
  return String(value);
}
