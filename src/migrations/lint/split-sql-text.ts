// A plain splitter for SQL the PostgreSQL parser cannot read (SQLite-only syntax): statements end
// at a `;` outside quotes and comments, except inside a CREATE TRIGGER's BEGIN ... END body.
// SQLite quoting (https://www.sqlite.org/lang_keywords.html): '...', "...", `...`, [...].

export interface TextPiece {
  /** The statement text, trimmed, without its `;`. */
  readonly text: string;
  /** 0-based character offset of the piece's first character (before trimming). */
  readonly start: number;
  /** 0-based character offset just past the piece (at its `;`, or the end of the text). */
  readonly end: number;
}

const TRIGGER_START = /^\s*create\s+(?:temp\s+|temporary\s+)?trigger\b/i;
const ENDS_WITH_END = /\bend\s*$/i;

/** Splits `text` into statements; pieces that are only blanks and comments are left out. */
export function splitSqlText(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let start = 0;
  let code = '';
  let i = 0;
  const push = (end: number): void => {
    if (code.trim() !== '') pieces.push({ text: text.slice(start, end).trim(), start, end });
  };
  while (i < text.length) {
    const char = text[i];
    const next = text[i + 1];
    if (char === '-' && next === '-') {
      const newline = text.indexOf('\n', i);
      i = newline === -1 ? text.length : newline;
      continue;
    }
    if (char === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close === -1 ? text.length : close + 2;
      code += ' ';
      continue;
    }
    if (char === "'" || char === '"' || char === '`' || char === '[') {
      const closer = char === '[' ? ']' : char;
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === closer) {
          // A doubled quote is an escaped quote inside the literal.
          if (closer !== ']' && text[j + 1] === closer) j += 2;
          else break;
        } else j += 1;
      }
      code += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (char === ';') {
      const inTriggerBody = TRIGGER_START.test(code) && !ENDS_WITH_END.test(code);
      if (!inTriggerBody) {
        push(i);
        start = i + 1;
        code = '';
        i += 1;
        continue;
      }
    }
    code += char;
    i += 1;
  }
  push(text.length);
  return pieces;
}
