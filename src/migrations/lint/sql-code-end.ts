// Where a statement's code ends, before the trailing blanks and comments that the parser leaves
// in the last statement of a file (its RawStmt has no length). A small lexer of PostgreSQL's
// quoting (https://www.postgresql.org/docs/current/sql-syntax-lexical.html): '...' (with E''
// backslash escapes), "...", $tag$...$tag$, -- and nested /* */ comments.

const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/** The offset just past the last byte of code in [from, to) of `bytes` (UTF-8 or latin1). */
export function codeEnd(bytes: Buffer, from: number, to: number): number {
  let end = from;
  let i = from;
  while (i < to) {
    const byte = bytes[i] ?? 0;
    const next = bytes[i + 1];
    if (byte === 0x2d && next === 0x2d) {
      const newline = bytes.indexOf(0x0a, i);
      i = newline === -1 || newline >= to ? to : newline + 1;
    } else if (byte === 0x2f && next === 0x2a) {
      i = skipBlockComment(bytes, i, to);
    } else if (byte === 0x27 || byte === 0x22) {
      const escapes = byte === 0x27 && (bytes[i - 1] === 0x45 || bytes[i - 1] === 0x65);
      i = skipQuoted(bytes, i, to, byte, escapes);
      end = i;
    } else if (byte === 0x24) {
      const tag = DOLLAR_TAG.exec(bytes.subarray(i, Math.min(to, i + 64)).toString('latin1'));
      if (tag === null) {
        i += 1;
      } else {
        const close = bytes.indexOf(tag[0], i + tag[0].length, 'latin1');
        i = close === -1 || close >= to ? to : close + tag[0].length;
      }
      end = i;
    } else {
      i += 1;
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) end = i;
    }
  }
  return end;
}

function skipBlockComment(bytes: Buffer, start: number, to: number): number {
  let depth = 1;
  let i = start + 2;
  while (i < to && depth > 0) {
    if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
      depth += 1;
      i += 2;
    } else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f) {
      depth -= 1;
      i += 2;
    } else i += 1;
  }
  return i;
}

function skipQuoted(bytes: Buffer, start: number, to: number, quote: number, escapes: boolean) {
  let i = start + 1;
  while (i < to) {
    if (escapes && bytes[i] === 0x5c) i += 2;
    else if (bytes[i] === quote) {
      if (bytes[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return to;
}
