// Minimal cookie reading for split decisions: one name out of a Cookie header, no allocation of
// a full cookie map per request.

/** The value of cookie `name` in a Cookie header (several headers joined by `; `), if present. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  let at = 0;
  while (at < text.length) {
    while (text.charCodeAt(at) === 0x20) at++;
    let end = text.indexOf(';', at);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', at);
    if (eq !== -1 && eq < end && text.slice(at, eq).trim() === name) {
      let value = text.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    at = end + 1;
  }
  return undefined;
}
