// Text that leaves the webhook (deny messages, warnings, logs of user values) is built from object
// fields a user wrote. It is escaped and bounded here so a host name with a newline or a bidi
// override can neither forge extra lines in kubectl's output nor blow up the response.

/** The API server keeps warnings short; longer ones are cut by it anyway. */
export const MAX_WARNING_CHARS = 256;
export const MAX_WARNINGS = 10;
export const MAX_MESSAGE_CHARS = 4096;
const MAX_QUOTED_CHARS = 256;

// Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width, BOM, tags)
// and the line/paragraph separators.
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

function escapeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escapes control and direction-changing characters and cuts the text to `max` characters. */
export function sanitize(text: string, max = MAX_MESSAGE_CHARS): string {
  const escaped = text.replace(UNSAFE, escapeChar);
  if (escaped.length <= max) return escaped;
  const marker = '... (truncated)';
  return escaped.slice(0, Math.max(0, max - marker.length)) + marker;
}

/** A user-supplied value inside a message: double-quoted, escaped, bounded. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
  return `"${cut.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeChar)}"`;
}

/** Joins deny reasons into one message, with a count of the ones left out. */
export function joinReasons(reasons: readonly string[], max = MAX_MESSAGE_CHARS): string {
  const out: string[] = [];
  let length = 0;
  for (const [i, r] of reasons.entries()) {
    const safe = sanitize(r, 1024);
    if (length + safe.length + 2 > max - 40 && out.length > 0) {
      out.push(`and ${reasons.length - i} more`);
      break;
    }
    out.push(safe);
    length += safe.length + 2;
  }
  return out.join('; ');
}

/** Warnings as the API server wants them: escaped, short, few, no duplicates. */
export function boundWarnings(warnings: readonly string[]): string[] {
  const unique = [...new Set(warnings.map((w) => sanitize(w, MAX_WARNING_CHARS)))];
  if (unique.length <= MAX_WARNINGS) return unique;
  return [...unique.slice(0, MAX_WARNINGS - 1), `and ${unique.length - (MAX_WARNINGS - 1)} more warnings`];
}

/** JSON pointer (`/spec/rules/0/host`) as a field path (`spec.rules[0].host`, `metadata.annotations["a/b"]`). */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${quote(seg)}]`;
  }
  return out;
}
