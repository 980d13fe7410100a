import { WebSeedInitError } from './errors.js';
import { checkMaxInFlight, isFetchable, type WebSeedPolicy, type WebSeedPolicyView } from './policy.js';

export const DEFAULT_ALL_PIECES_IN_FLIGHT = 4;

export interface AllPiecesPolicyInit {
  /** Default DEFAULT_ALL_PIECES_IN_FLIGHT. */
  readonly maxInFlight?: number;
}

/**
 * Plain BEP 19 behaviour, for torrents with a `url-list`: the web seed is a permanently unchoked
 * seed and fetches any missing piece nobody is downloading, lowest index first (whole files come
 * in order, which suits the HTTP server's read-ahead).
 */
export class AllPiecesPolicy implements WebSeedPolicy {
  readonly name = 'all';
  readonly maxInFlight: number;

  constructor(init: AllPiecesPolicyInit = {}) {
    this.maxInFlight = checkMaxInFlight(
      init.maxInFlight ?? DEFAULT_ALL_PIECES_IN_FLIGHT,
      (m) => new WebSeedInitError(m),
    );
  }

  next(view: WebSeedPolicyView, max: number): number[] {
    const out: number[] = [];
    const table = view.table;
    for (let i = 0; i < table.pieceCount && out.length < max; i++) {
      if (!view.excluded(i) && isFetchable(table, i)) out.push(i);
    }
    return out;
  }
}
