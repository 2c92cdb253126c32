// The share of an app's public traffic each color serves, for `cutover_traffic_share`: the
// stored split (canary step, rolling batch) on its color, the rest on the live color.
import type { Color, TrafficSplit } from '../../core/types.ts';

/** What the share needs of an app (an AppStatus of GET /v1/status has it). */
export interface ShareSource {
  readonly name: string;
  readonly live: Color | null;
  readonly split?: TrafficSplit | null;
  readonly colors: Readonly<Record<Color, { readonly release: string | null }>>;
}

/** Basis points: a percent with two decimals is a whole number of them. */
const WHOLE_BP = 10_000;

/**
 * 0..1 per color. Follows the routing table (core/routing-table.ts): a split counts only on
 * the idle color while it holds a release; nothing live means no public traffic at all.
 */
export function trafficSharesOf(app: ShareSource): Record<Color, number> {
  const shares: Record<Color, number> = { blue: 0, green: 0 };
  if (app.live === null) return shares;
  const split = app.split ?? null;
  const splitBp =
    split === null || split.color === app.live || app.colors[split.color].release === null
      ? 0
      : Math.min(WHOLE_BP, Math.max(0, Math.round(split.percent * 100)));
  shares[app.live] = (WHOLE_BP - splitBp) / WHOLE_BP;
  if (split !== null && splitBp > 0) shares[split.color] = splitBp / WHOLE_BP;
  return shares;
}
