// Live progress of a followed deployment. On a terminal: one status line redrawn in place
// (`[starting 3.2s] waiting for ...`) above which each finished step leaves a permanent line. Not
// on a terminal (a pipe, a CI log): only the permanent lines, plain text, no escape codes.
import type { DeploymentView } from '../client/api-types.ts';
import { finishedStepLines, formatStatusLine } from './format-deployment.ts';

/** ECMA-48: carriage return, then Erase in Line (CSI 2 K) clears the whole status line. */
const CLEAR_LINE = '\r\x1b[2K';
const DEFAULT_COLUMNS = 80;

export interface DeploymentProgressOptions {
  readonly write: (text: string) => void;
  readonly isTTY: boolean;
  /** Terminal width: the status line is cut to fit, so redrawing never leaves wrapped rows. */
  readonly columns?: number | undefined;
  readonly now?: () => number;
}

export class DeploymentProgress {
  readonly #write: (text: string) => void;
  readonly #isTTY: boolean;
  readonly #columns: number;
  readonly #now: () => number;
  readonly #printed = new Set<number>();
  #statusShown = false;
  #last: DeploymentView | null = null;

  constructor(options: DeploymentProgressOptions) {
    this.#write = options.write;
    this.#isTTY = options.isTTY;
    // A terminal that does not say its width (0, e.g. under `script`) gets the usual 80.
    const columns = options.columns ?? 0;
    this.#columns = columns > 0 ? Math.max(20, columns) : DEFAULT_COLUMNS;
    this.#now = options.now ?? Date.now;
  }

  /** Prints the steps that finished since the last view, then (on a TTY) the status line. */
  update(view: DeploymentView): void {
    this.#last = view;
    const fresh = finishedStepLines(view).filter((line) => !this.#printed.has(line.index));
    if (fresh.length > 0) this.clear();
    for (const line of fresh) {
      this.#printed.add(line.index);
      this.#write(`${line.text}\n`);
    }
    this.redraw();
  }

  /** Redraws the status line of the last view with the time now (between polls). */
  redraw(): void {
    if (!this.#isTTY || this.#last === null) return;
    const status = formatStatusLine(this.#last, this.#now());
    if (status === null) {
      this.clear();
      return;
    }
    this.#write(`${CLEAR_LINE}${this.#fit(status)}`);
    this.#statusShown = true;
  }

  /** Removes the status line, e.g. before another message or at the end. */
  clear(): void {
    if (!this.#statusShown) return;
    this.#write(CLEAR_LINE);
    this.#statusShown = false;
  }

  #fit(text: string): string {
    // One column is left free: a line that fills the last column wraps on some terminals.
    const room = this.#columns - 1;
    return text.length <= room ? text : `${text.slice(0, room - 1)}…`;
  }
}
