// Checks after the fact that every answered request came from the release that was live when it
// was sent: the timeline comes from the deployments' own step times (a flip is committed on
// every router worker before its step ends) and the drill's start and end. A request that
// overlaps a flip in progress is not checked; every other one is. Pure. Times are epoch ms; the
// daemon and the demo read the same host clock.
import type { DeploymentView } from '../../client/api-types.ts';

export interface AnsweredRequest {
  readonly sentAt: number;
  readonly doneAt: number;
  readonly release: string;
}

export interface RoutingTimeline {
  /** The release expected live from `at` on, in time order. */
  readonly segments: { at: number; release: string }[];
  /** Flips under way: requests overlapping one are not checked. */
  readonly unchecked: { from: number; to: number }[];
  /**
   * Canary steps: a share of the traffic on the new release while the live one keeps the rest;
   * a request sent inside one may be answered by either release.
   */
  readonly shared: { from: number; to: number; releases: string[] }[];
}

export interface RoutingCheck {
  readonly checked: number;
  readonly misrouted: number;
  /** The first misrouted requests, for the report. */
  readonly samples: readonly string[];
}

/** ISO times are whole milliseconds: widen each flip window by this on both sides. */
const CLOCK_SLACK_MS = 2;
const SAMPLES = 5;

export function createTimeline(at: number, release: string): RoutingTimeline {
  return { segments: [{ at, release }], unchecked: [], shared: [] };
}

/** The live release at the end of the timeline. */
export function liveAtEnd(timeline: RoutingTimeline): string | null {
  return timeline.segments.at(-1)?.release ?? null;
}

/** A flip under way from `from` to `to` (epoch ms), after which `release` is live. */
export function addFlip(
  timeline: RoutingTimeline,
  from: number,
  to: number,
  release: string,
): void {
  timeline.unchecked.push({ from: from - CLOCK_SLACK_MS, to: to + CLOCK_SLACK_MS });
  timeline.segments.push({ at: to + CLOCK_SLACK_MS, release });
}

/**
 * The flips a deployment made: its flipping step (to the release) and its rolling-back step (to
 * the release that was live before it). A step still running counts as running until now.
 */
export function addDeployment(timeline: RoutingTimeline, view: DeploymentView, now: number): void {
  const before = liveAtEnd(timeline);
  for (const step of view.steps) {
    if (step.step === 'shifting' && before !== null) {
      const end = step.endedAt === null ? now : Date.parse(step.endedAt);
      timeline.shared.push({
        from: Date.parse(step.startedAt) - CLOCK_SLACK_MS,
        to: end + CLOCK_SLACK_MS,
        releases: [before, view.release],
      });
      continue;
    }
    if (step.step !== 'flipping' && step.step !== 'rolling-back') continue;
    const release = step.step === 'flipping' ? view.release : before;
    if (release === null) continue;
    const end = step.endedAt === null ? now : Date.parse(step.endedAt);
    addFlip(timeline, Date.parse(step.startedAt), end, release);
  }
}

function expectedAt(timeline: RoutingTimeline, at: number): string | null {
  let release: string | null = null;
  for (const segment of timeline.segments) {
    if (segment.at > at) break;
    release = segment.release;
  }
  return release;
}

export function checkRouting(
  answers: readonly AnsweredRequest[],
  timeline: RoutingTimeline,
): RoutingCheck {
  let checked = 0;
  let misrouted = 0;
  const samples: string[] = [];
  for (const answer of answers) {
    const overlapsFlip = timeline.unchecked.some(
      (w) => answer.sentAt <= w.to && answer.doneAt >= w.from,
    );
    if (overlapsFlip) continue;
    const expected = expectedAt(timeline, answer.sentAt);
    if (expected === null) continue;
    checked += 1;
    const share = timeline.shared.find((w) => answer.sentAt <= w.to && answer.doneAt >= w.from);
    if (share?.releases.includes(answer.release) === true) continue;
    if (answer.release !== expected) {
      misrouted += 1;
      if (samples.length < SAMPLES) {
        samples.push(
          `sent at ${new Date(answer.sentAt).toISOString()}: answered by ${answer.release}, ${expected} was live`,
        );
      }
    }
  }
  return { checked, misrouted, samples };
}
