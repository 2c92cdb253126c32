// Protocol engine: an incremental validator for the chunked transfer coding (RFC 9112 §7.1).
// The router forwards chunked bodies byte for byte, but only the bytes this decoder accepted:
// a bad size, a missing CRLF, a bare LF or an extension flood stops the message with an error
// before its bytes reach the other side.

export type ChunkedError =
  | 'bad-chunk-size'
  | 'chunk-size-too-large'
  | 'bad-chunk-extension'
  | 'chunk-extension-too-long'
  | 'missing-crlf'
  | 'bad-trailer'
  | 'trailer-too-long';

export interface ChunkedProgress {
  /** Bytes of the input that belong to this body and may be forwarded. */
  readonly consumed: number;
  /** True when the last chunk and the trailer section ended within `consumed`. */
  readonly done: boolean;
  readonly error?: ChunkedError;
}

/** A size line longer than this (digits plus extensions) is a flood, not a chunk. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** Extension bytes allowed over one whole message. */
export const MAX_CHUNK_EXTENSION_BYTES_PER_MESSAGE = 16 * 1024;
export const MAX_TRAILER_BYTES = 16 * 1024;
/** 16 hex digits would overflow exact integer arithmetic; 13 is 2^52. */
const MAX_SIZE_DIGITS = 13;

type Phase =
  'size' | 'ext' | 'size-lf' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'trailer-lf' | 'done';

/** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5, RFC 9110 §5.1, §5.5). */
const FIELD_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/;
const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const SEMI = 59;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class ChunkedDecoder {
  #phase: Phase = 'size';
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #extensionBytes = 0;
  #remaining = 0;
  #trailerBytes = 0;
  #trailerLineBytes = 0;
  #trailerLine = '';
  #last = false;
  #sawSemicolon = false;
  readonly #wholeLines: boolean;
  /** Within one push: where the line being read began; bytes before it are validated. */
  #safe = 0;

  /**
   * `wholeLines`: report a size, CRLF or trailer line as consumed only once all of it has
   * arrived and passed, and never a byte of a line that fails. The router decodes request
   * bodies this way, so an app never receives a fragment it would parse differently (the
   * remainder stays in the caller's buffer and is pushed again with the next bytes).
   */
  constructor(options: { wholeLines?: boolean } = {}) {
    this.#wholeLines = options.wholeLines === true;
  }

  get done(): boolean {
    return this.#phase === 'done';
  }

  /**
   * Feeds bytes; returns how many belong to the body, and whether it ended. `data`, when
   * given, receives views of `input` holding the chunk data (the de-chunked body, without
   * sizes, extensions or trailers); every one of them lies within `consumed`.
   */
  push(input: Buffer, data?: Buffer[]): ChunkedProgress {
    let i = 0;
    const n = input.length;
    this.#safe = 0;
    while (i < n) {
      if (this.#wholeLines && this.#atLineStart()) {
        this.#safe = i;
        const wanted = this.#phase === 'data-cr' ? i + 1 : input.indexOf(LF, i);
        if (wanted === -1 || wanted >= n) {
          if (n - i > MAX_CHUNK_LINE_BYTES + 2) {
            return this.#fail(
              i,
              this.#phase === 'trailer' ? 'trailer-too-long' : 'chunk-extension-too-long',
            );
          }
          return { consumed: i, done: false };
        }
      }
      switch (this.#phase) {
        case 'data': {
          const take = Math.min(this.#remaining, n - i);
          if (data !== undefined && take > 0) data.push(input.subarray(i, i + take));
          this.#remaining -= take;
          i += take;
          this.#safe = i;
          if (this.#remaining === 0) this.#phase = 'data-cr';
          break;
        }
        case 'size': {
          const c = input[i] as number;
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail(i, 'chunk-size-too-large');
            this.#size = this.#size * 16 + v;
          } else if (this.#digits === 0) {
            return this.#fail(i, 'bad-chunk-size');
          } else if (c === CR) {
            this.#phase = 'size-lf';
          } else if (c === SEMI || c === SP || c === HTAB) {
            // BWS before ";" (RFC 9112 §7.1.1), then the extension up to CRLF.
            this.#phase = 'ext';
            this.#sawSemicolon = c === SEMI;
            this.#extensionBytes++;
          } else {
            return this.#fail(i, 'bad-chunk-size');
          }
          if (++this.#lineBytes > MAX_CHUNK_LINE_BYTES)
            return this.#fail(i, 'chunk-extension-too-long');
          i++;
          break;
        }
        case 'ext': {
          const c = input[i] as number;
          if (!this.#sawSemicolon) {
            // Only whitespace may stand between the size and the ";" of an extension.
            if (c === SEMI) this.#sawSemicolon = true;
            else if (c !== SP && c !== HTAB) return this.#fail(i, 'bad-chunk-extension');
          }
          if (c === CR) {
            this.#phase = 'size-lf';
          } else if ((c < 0x20 && c !== HTAB) || c === 0x7f) {
            return this.#fail(i, 'bad-chunk-extension');
          } else if (++this.#extensionBytes > MAX_CHUNK_EXTENSION_BYTES_PER_MESSAGE) {
            return this.#fail(i, 'chunk-extension-too-long');
          }
          if (++this.#lineBytes > MAX_CHUNK_LINE_BYTES)
            return this.#fail(i, 'chunk-extension-too-long');
          i++;
          break;
        }
        case 'size-lf': {
          if (input[i] !== LF) return this.#fail(i, 'missing-crlf');
          i++;
          this.#lineBytes = 0;
          this.#digits = 0;
          if (this.#size === 0) {
            this.#last = true;
            this.#phase = 'trailer';
          } else {
            this.#remaining = this.#size;
            this.#size = 0;
            this.#phase = 'data';
          }
          break;
        }
        case 'data-cr': {
          if (input[i] !== CR) return this.#fail(i, 'missing-crlf');
          i++;
          this.#phase = 'data-lf';
          break;
        }
        case 'data-lf': {
          if (input[i] !== LF) return this.#fail(i, 'missing-crlf');
          i++;
          this.#phase = 'size';
          break;
        }
        case 'trailer': {
          // trailer-section = *( field-line CRLF ) CRLF; an empty line ends the message.
          const c = input[i] as number;
          if (c === CR) {
            // Each trailer line must be a field-line (RFC 9112 §5): the next parser must never
            // read something else into it.
            if (this.#trailerLineBytes > 0 && !FIELD_LINE.test(this.#trailerLine)) {
              return this.#fail(i, 'bad-trailer');
            }
            this.#trailerLine = '';
            this.#phase = 'trailer-lf';
          } else if (c === LF || c === 0) {
            return this.#fail(i, 'bad-trailer');
          } else {
            this.#trailerLineBytes++;
            this.#trailerLine += String.fromCharCode(c);
          }
          if (++this.#trailerBytes > MAX_TRAILER_BYTES) return this.#fail(i, 'trailer-too-long');
          i++;
          break;
        }
        case 'trailer-lf': {
          if (input[i] !== LF) return this.#fail(i, 'bad-trailer');
          i++;
          if (this.#trailerLineBytes === 0) {
            this.#phase = 'done';
            return { consumed: i, done: true };
          }
          this.#trailerLineBytes = 0;
          this.#phase = 'trailer';
          break;
        }
        case 'done':
          return { consumed: i, done: true };
      }
    }
    return { consumed: i, done: this.#last && this.#phase === 'done' };
  }

  /** True where a size line, the CRLF after chunk data, or a trailer line begins. */
  #atLineStart(): boolean {
    switch (this.#phase) {
      case 'size':
        return this.#lineBytes === 0 && this.#digits === 0;
      case 'trailer':
        return this.#trailerLineBytes === 0;
      case 'data-cr':
        return true;
      default:
        return false;
    }
  }

  #fail(at: number, error: ChunkedError): ChunkedProgress {
    return { consumed: this.#wholeLines ? this.#safe : at, done: false, error };
  }
}
