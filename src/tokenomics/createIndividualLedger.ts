import { BaseError } from "../protocol/errors.ts";
import { MAX_WIN_PROB } from "../protocol/ticket.ts";
import { GIB, ticketParams } from "../protocol/ticketParams.ts";
import { createPrng, sfc32Fill, sfc32State } from "./createPrng.ts";
import { limbStats } from "./limbStats.ts";
import { MAX_INDIVIDUAL_PROVIDERS, type Model } from "./modelSchema.ts";
import { endsMonth, MONTH_SECONDS, payoutClasses, type PayoutMonth } from "./monthlyPayouts.ts";
import type { EpochMarket, ProviderLedger, RewardRule } from "./providerLedger.ts";
import { splitFee, type FeeSplit } from "./rewardMath.ts";
import { drawTicketIndex, drawTicketIndices, TicketCountRangeError, ticketCountTable, type TicketCountTable } from "./ticketCountTable.ts";

/** Most winning tickets one provider may draw in one epoch: keeps count × (a 32-bit limb) below 2^53. */
export const MAX_WINS_PER_PROVIDER_EPOCH = 2 ** 21 - 1;
const TWO_32 = 4294967296;
const LIMB_MASK = 0xffffffffn;

/** Tuning of the individual ledger, for tests. */
export type IndividualLedgerOptions = {
  /**
   * The bound below which per-provider limbs stay exact (default 2^53). Accumulators are carried
   * into bigints before any could pass it; tests lower it to exercise that path.
   */
  exactLimit?: number;
};

/** A model the individual ledger cannot simulate exactly (too many providers, or too many winning tickets per provider). */
export class IndividualModeLimitError extends BaseError {
  override name = "IndividualModeLimitError";
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super(`Individual mode: ${reason}; use providers.mode: cohort for this model.`, options);
  }
}

/** The providers of one cohort, struct of arrays; slots 0 .. n-1 are active. */
type Cohort = {
  name: string;
  weight: bigint;
  n: number;
  /** Table index of each provider's winning-ticket count this epoch. */
  idx: Uint16Array;
  /** This month's earnings: hi × 2^32 + lo wei (+ carry), integer-valued doubles below exactLimit. */
  hi: Float64Array;
  lo: Float64Array;
  carry: bigint[] | null;
  /** Epoch the provider arrived in (0 for the initial providers). */
  join: Int32Array;
  /** This epoch's count table (kept between epochs to recycle its buffers). */
  table: TicketCountTable | undefined;
  /** Whether the cohort drew this epoch (false: nobody in it can win anything). */
  live: boolean;
  /** Providers per table index this epoch; wins = sum (lo + k) x hist[k]. */
  hist: Int32Array;
  wins: number;
  /** floor(r × count / D) per table index, and the money each index adds (both limbs). */
  rem: Float64Array;
  addHi: Float64Array;
  addLo: Float64Array;
  fixed: bigint;
  fixedMonth: bigint;
};

function cohortOf(name: string, weight: number, count: number): Cohort {
  const capacity = Math.max(16, Math.ceil(count * 1.25));
  return {
    name,
    weight: BigInt(weight),
    n: count,
    idx: new Uint16Array(capacity),
    hi: new Float64Array(capacity),
    lo: new Float64Array(capacity),
    carry: null,
    join: new Int32Array(capacity),
    table: undefined,
    live: false,
    hist: new Int32Array(64),
    wins: 0,
    rem: new Float64Array(64),
    addHi: new Float64Array(64),
    addLo: new Float64Array(64),
    fixed: 0n,
    fixedMonth: 0n,
  };
}

/** Grows a cohort's arrays to hold at least `need` providers. */
function reserve(c: Cohort, need: number): void {
  if (need <= c.idx.length) return;
  const capacity = Math.max(need, c.idx.length * 2);
  const grow = <T extends Uint16Array | Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
    const b = make(capacity);
    b.set(a);
    return b;
  };
  c.idx = grow(c.idx, (n) => new Uint16Array(n));
  c.hi = grow(c.hi, (n) => new Float64Array(n));
  c.lo = grow(c.lo, (n) => new Float64Array(n));
  c.join = grow(c.join, (n) => new Int32Array(n));
  if (c.carry !== null) while (c.carry.length < capacity) c.carry.push(0n);
}

/** Per-epoch scratch arrays of a cohort sized for a table of `size` counts. */
function reserveTable(c: Cohort, size: number): void {
  if (size <= c.hist.length) return;
  const n = Math.max(size, c.hist.length * 2);
  c.hist = new Int32Array(n);
  c.rem = new Float64Array(n);
  c.addHi = new Float64Array(n);
  c.addLo = new Float64Array(n);
}

/** Adds each provider's money for the count it drew: hi[i] += addHi[idx[i]], lo[i] += addLo[idx[i]] (a small function, so the loop is tight). */
function credit(idx: Uint16Array, hi: Float64Array, lo: Float64Array, addHi: Float64Array, addLo: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const k = idx[i] ?? 0;
    hi[i] = (hi[i] ?? 0) + (addHi[k] ?? 0);
    lo[i] = (lo[i] ?? 0) + (addLo[k] ?? 0);
  }
}

/** floor(r × k / d) exactly: in doubles when r × k + d < 2^53 (where Math.floor of the quotient is exact), else in bigint. */
function shareFloor(r: bigint, rNumber: number, k: number, d: bigint, dNumber: number): number {
  const product = rNumber * k;
  return product + dNumber < 2 ** 53 ? Math.floor(product / dNumber) : Number((r * BigInt(k)) / d);
}

/**
 * The individual ledger (docs/TOKENOMICS.md "Individual mode"): every provider is simulated on
 * its own. Each epoch a provider of cohort c sends its share of the honest traffic as tickets
 * (bytes / bytesPerTicket, stochastically rounded) and wins Binomial(tickets, p) of them, with
 * p = winProb / 2^256 from the protocol's ticketParams; the count is drawn by table inversion
 * (ticketCountTable) from a seeded sfc32 stream. Each winning ticket pays the face value, split
 * by the broker per ticket (splitFee), and the reward is rewardMath.providerReward of what the
 * provider burned: floor(pool × wins / D), D the epoch's burning tickets, computed as
 * q × wins + floor(r × wins / D) with q, r = divmod(pool, D).
 *
 * Money: every epoch total (paid, burned, treasury, fees, rewards) is exact bigint, computed from
 * the per-cohort histograms of counts. Each provider's month accumulates in two integer-valued
 * doubles, value = hi × 2^32 + lo, with per-count increments tabulated per epoch; a running bound
 * of the largest possible accumulator carries them into bigints before either could reach
 * `exactLimit` (2^53), so every per-provider amount is exact to the wei. Reported figures are
 * exact order statistics (limbStats).
 *
 * Data layout: struct of arrays per cohort (typed arrays), two passes per epoch over them (draw,
 * then credit), no allocation per provider. Departures are random providers of the cohort
 * (swap-remove); arrivals are appended.
 */
export function createIndividualLedger(model: Model, options: IndividualLedgerOptions = {}): ProviderLedger {
  const exactLimit = options.exactLimit ?? 2 ** 53;
  const ticketStream = sfc32State(model.seed, 1);
  const attackerPrng = createPrng(model.seed, 2);
  const churnPrng = createPrng(model.seed, 3);
  const burnBps = BigInt(model.fees.burnBps);
  const treasuryBps = BigInt(model.fees.treasuryBps);
  const bytesPerTicket = BigInt(model.tickets.bytesPerTicket);
  const attack = model.attackers;
  const attackerPaysFees = model.rewards.basis !== "selfReported";
  const cohorts = model.providers.cohorts.map((c) => cohortOf(c.name, c.weight, c.count));
  const classes = payoutClasses(model);
  const months: PayoutMonth[][] = classes.map(() => []);
  let uniforms = new Uint32Array(1024);
  let members = new Int32Array(1024);
  let keys = new Float64Array(1024);
  let attackerTable: TicketCountTable | undefined;

  // This epoch's state, from pay() through settle().
  let epoch = 0;
  let monthFirstEpoch = 0;
  let split: FeeSplit = { burn: 0n, treasury: 0n, recipient: 0n };
  let honestWins = 0;
  let attackerUnits = 0; // winning tickets the attacker paid itself (or reported, in tickets' worth)
  let ids = 0n;
  let burnDenominator = 0n;
  let reportDenominator = 0n;
  let pool = 0n;
  let denominator = 0n;
  let honestOwed = 0n;
  // Bounds of any provider's limbs this month.
  let boundHi = 0;
  let boundLo = 0;

  const limit = (reason: string, cause?: unknown): never => {
    throw new IndividualModeLimitError(reason, { cause });
  };

  /** Winning tickets among `tickets`, drawn as one aggregate (the attacker's identities together). */
  const drawAggregate = (whole: number, fraction: number, p: number): number => {
    try {
      attackerTable = ticketCountTable(whole, fraction, p, attackerTable);
      return attackerTable.lo + drawTicketIndex(attackerTable, attackerPrng.next() * TWO_32);
    } catch (error) {
      if (!(error instanceof TicketCountRangeError)) throw error;
      // Beyond a standard deviation of 3,000 wins, the normal approximation: Berry-Esseen bounds
      // its Kolmogorov distance by 0.4748 / sd < 1.6e-4 (docs/TOKENOMICS.md "The sampler").
      const t = whole + fraction;
      const sd = Math.sqrt(t * p * (1 - p) + fraction * (1 - fraction) * p * p);
      return Math.max(0, Math.round(t * p + sd * attackerPrng.gaussian()));
    }
  };

  /** num / den tickets as a whole number and a fraction (for stochastic rounding). */
  const ticketsOf = (num: bigint, den: bigint, what: string): [number, number] => {
    const whole = num / den;
    if (whole > BigInt(Number.MAX_SAFE_INTEGER)) limit(`${what} sends more than 2^53 tickets in an epoch`);
    const fraction = Number(num % den) / Number(den);
    return [Number(whole), fraction < 1 ? fraction : 1 - 2 ** -53];
  };

  const removeAt = (c: Cohort, i: number): void => {
    const last = c.n - 1;
    c.idx[i] = c.idx[last] ?? 0;
    c.hi[i] = c.hi[last] ?? 0;
    c.lo[i] = c.lo[last] ?? 0;
    c.join[i] = c.join[last] ?? 0;
    if (c.carry !== null) [c.carry[i], c.carry[last]] = [c.carry[last] ?? 0n, 0n];
    c.hi[last] = 0;
    c.lo[last] = 0;
    c.n = last;
  };

  const carryAll = (): void => {
    for (const c of cohorts) {
      const carry = (c.carry ??= new Array<bigint>(c.idx.length).fill(0n));
      for (let i = 0; i < c.n; i++) {
        carry[i] = (carry[i] ?? 0n) + BigInt(c.hi[i] ?? 0) * (1n << 32n) + BigInt(c.lo[i] ?? 0);
      }
      c.hi.fill(0, 0, c.n);
      c.lo.fill(0, 0, c.n);
    }
    boundHi = 0;
    boundLo = 0;
  };

  const closeMonth = (): void => {
    classes.forEach((k, j) => {
      const c = cohorts[k.cohort];
      const list = months[j];
      if (c === undefined || list === undefined) return;
      if (members.length < c.n) [members, keys] = [new Int32Array(c.n), new Float64Array(c.n)];
      let m = 0;
      for (let i = 0; i < c.n; i++) if ((c.join[i] ?? 0) <= monthFirstEpoch) members[m++] = i;
      const s = limbStats(c.hi, c.lo, c.carry, members, m, [0.1, 0.5, 0.9], keys);
      // The fixed part (availability, stake share) is the same for every provider present all month.
      const f = c.fixedMonth;
      list.push({
        month: list.length,
        providers: m,
        p10: m === 0 ? 0n : (s.quantiles[0] ?? 0n) + f,
        p50: m === 0 ? 0n : (s.quantiles[1] ?? 0n) + f,
        p90: m === 0 ? 0n : (s.quantiles[2] ?? 0n) + f,
        mean: m === 0 ? 0n : s.sum / BigInt(m) + f,
        zeroShare: m === 0 || f > 0n ? 0 : s.zeros / m,
      });
    });
    for (const c of cohorts) {
      c.hi.fill(0, 0, c.n);
      c.lo.fill(0, 0, c.n);
      c.carry = null;
      c.fixedMonth = 0n;
    }
    boundHi = 0;
    boundLo = 0;
  };

  /** Sets each cohort's floor(r × count / D) table; returns the honest total of those remainders. */
  const remainders = (q: bigint, r: bigint): bigint => {
    let total = q * BigInt(honestWins);
    const rNumber = Number(r);
    const dNumber = Number(denominator);
    for (const c of cohorts) {
      const t = c.table;
      if (!c.live || t === undefined) continue;
      let sum = 0;
      for (let k = 0; k < t.size; k++) {
        const v = r === 0n ? 0 : shareFloor(r, rNumber, t.lo + k, denominator, dNumber);
        c.rem[k] = v;
        sum += v * (c.hist[k] ?? 0); // < providers × 2^21: exact
      }
      total += BigInt(sum);
    }
    return total;
  };

  return {
    pay(m: EpochMarket) {
      epoch = m.epoch;
      if (epoch === 0 || endsMonth(epoch - 1, model.epochLengthSeconds)) monthFirstEpoch = epoch;
      ids = BigInt(m.identities);

      // Arrivals first, then departures among everyone (so counts match max(0, n + a - d)).
      let active = 0;
      cohorts.forEach((c, i) => {
        const arrivals = m.arrivals[i] ?? 0;
        if (epoch > 0 && arrivals > 0) {
          reserve(c, c.n + arrivals);
          for (let a = 0; a < arrivals; a++) {
            const slot = c.n++;
            c.join[slot] = epoch;
            c.hi[slot] = 0;
            c.lo[slot] = 0;
            if (c.carry !== null) c.carry[slot] = 0n;
          }
        }
        const departures = epoch > 0 ? Math.min(m.departures[i] ?? 0, c.n) : 0;
        for (let d = 0; d < departures; d++) removeAt(c, Math.floor(churnPrng.next() * c.n));
        if (c.n !== m.counts[i]) throw new Error(`createIndividualLedger: cohort ${c.name} has ${c.n} providers, the world ${m.counts[i]}`);
        active += c.n;
      });
      if (active > MAX_INDIVIDUAL_PROVIDERS) limit(`${active.toLocaleString("en")} providers in epoch ${epoch} exceed ${MAX_INDIVIDUAL_PROVIDERS.toLocaleString("en")}`);

      // The tickets' terms at this epoch's prices, exactly as nodes set them.
      let faceValue = 0n;
      let p = 0;
      if (m.priceWeiPerGiB > 0n) {
        const terms = ticketParams({ pricePerGiB: m.priceWeiPerGiB, bytesPerTicket, faceValue: m.faceValue > 0n ? m.faceValue : 1n });
        faceValue = terms.faceValue;
        p = terms.winProb === MAX_WIN_PROB ? 1 : Math.min(1, Number(terms.winProb) / 2 ** 256);
      }
      split = splitFee(faceValue, burnBps, treasuryBps);

      // Each provider's winning tickets: one draw per provider from its cohort's table.
      let weightTotal = 0n;
      for (const c of cohorts) weightTotal += BigInt(c.n) * c.weight;
      honestWins = 0;
      for (const c of cohorts) {
        c.live = false;
        c.wins = 0;
        if (c.n === 0 || p === 0 || weightTotal === 0n || m.demandGiB === 0n) continue;
        const [whole, fraction] = ticketsOf(m.demandGiB * GIB * c.weight, weightTotal * bytesPerTicket, `a provider of cohort ${c.name}`);
        let table: TicketCountTable;
        try {
          table = ticketCountTable(whole, fraction, p, c.table);
        } catch (error) {
          if (error instanceof TicketCountRangeError) limit(`a provider of cohort ${c.name} in epoch ${epoch}: ${error.shortMessage}`, error);
          throw error;
        }
        if (table.lo + table.size - 1 > MAX_WINS_PER_PROVIDER_EPOCH) {
          limit(`a provider of cohort ${c.name} may win ${table.lo + table.size - 1} tickets in epoch ${epoch}, more than ${MAX_WINS_PER_PROVIDER_EPOCH}`);
        }
        c.table = table;
        c.live = true;
        reserveTable(c, table.size);
        const hist = c.hist;
        hist.fill(0, 0, table.size);
        if (uniforms.length < c.n) uniforms = new Uint32Array(c.idx.length);
        sfc32Fill(ticketStream, uniforms, c.n);
        drawTicketIndices(table, uniforms, c.idx, c.n, hist);
        let wins = 0;
        for (let k = 0; k < table.size; k++) wins += (table.lo + k) * (hist[k] ?? 0);
        c.wins = wins;
        honestWins += wins;
      }

      // The attacker pays itself with tickets too (one aggregate draw for all its identities), or,
      // when it pays nothing, reports its fake volume in whole tickets' worth.
      attackerUnits = 0;
      if (m.identities > 0 && m.attackerGiB > 0n && faceValue > 0n) {
        if (attackerPaysFees) {
          const [whole, fraction] = ticketsOf(m.attackerGiB * GIB, bytesPerTicket, "the attacker");
          attackerUnits = drawAggregate(whole, fraction, p);
        } else {
          attackerUnits = Number((m.attackerGiB * m.priceWeiPerGiB + faceValue / 2n) / faceValue);
        }
      }
      const honest = BigInt(honestWins);
      const attacker = BigInt(attackerUnits);
      const paying = attackerPaysFees ? attacker : 0n;
      burnDenominator = split.burn > 0n ? honest + paying : 0n;
      reportDenominator = faceValue > 0n ? honest + attacker : 0n;
      let attackerCost = attack.overheadPerGiB * m.attackerGiB + attack.costPerIdentityPerEpoch * ids;
      if (attackerPaysFees) attackerCost += attacker * (split.burn + split.treasury);
      return {
        paid: (honest + paying) * faceValue,
        burned: (honest + paying) * split.burn,
        treasuryIn: (honest + paying) * split.treasury,
        honestFees: honest * split.recipient,
        attackerPaid: attacker * faceValue,
        attackerCost,
      };
    },

    entitle(rule: RewardRule) {
      // providerReward(pool, wins × burn, D × burn) = floor(pool × wins / D): shares in tickets.
      pool = rule.usage?.pool ?? 0n;
      denominator = rule.usage === null ? 0n : rule.usage.by === "burn" ? burnDenominator : reportDenominator;
      if (denominator === 0n) pool = 0n;
      const q = denominator === 0n ? 0n : pool / denominator;
      const r = denominator === 0n ? 0n : pool % denominator;
      honestOwed = remainders(q, r);
      cohorts.forEach((c, i) => {
        c.fixed = rule.fixed[i] ?? 0n;
        honestOwed += c.fixed * BigInt(c.n);
      });
      const attackerShares = rule.usage !== null && (rule.usage.by === "report" || attackerPaysFees) && denominator > 0n;
      const attacker = BigInt(attackerUnits);
      const attackerShare = attackerShares ? q * attacker + (r * attacker) / denominator : 0n;
      return { honest: honestOwed, attacker: attackerShare + rule.fixedAttacker * ids };
    },

    settle(headroom: bigint) {
      let clamped = false;
      let q = denominator === 0n ? 0n : pool / denominator;
      if (honestOwed > headroom) {
        // The supply cap cuts the honest rewards: scale the pool and the fixed parts by
        // headroom / (owed + providers), which keeps the sum of floored shares <= headroom
        // (each provider's floor loses < 1 wei, so owed + providers bounds the unfloored sum).
        clamped = true;
        let providers = 0n;
        for (const c of cohorts) providers += BigInt(c.n);
        const scale = (x: bigint): bigint => (x * headroom) / (honestOwed + providers);
        pool = scale(pool);
        q = denominator === 0n ? 0n : pool / denominator;
        honestOwed = remainders(q, denominator === 0n ? 0n : pool % denominator);
        for (const c of cohorts) {
          c.fixed = scale(c.fixed);
          honestOwed += c.fixed * BigInt(c.n);
        }
      }

      // Credit every provider: count × (fee + q) + floor(r × count / D), tabulated per count.
      const perTicket = split.recipient + q;
      const vHi = Number(perTicket >> 32n);
      const vLo = Number(perTicket & LIMB_MASK);
      let stepHi = 0;
      let stepLo = 0;
      for (const c of cohorts) {
        if (!c.live || c.table === undefined) continue;
        const most = c.table.lo + c.table.size - 1;
        stepHi = Math.max(stepHi, most * vHi);
        stepLo = Math.max(stepLo, most * (vLo + 1));
      }
      if (stepHi > exactLimit || stepLo > exactLimit) limit(`a provider's earnings in epoch ${epoch} (${perTicket} wei per winning ticket) exceed the exact range of its accumulators`);
      if (boundHi + stepHi > exactLimit || boundLo + stepLo > exactLimit) carryAll();
      boundHi += stepHi;
      boundLo += stepLo;
      for (const c of cohorts) {
        c.fixedMonth += c.fixed;
        const t = c.table;
        if (!c.live || t === undefined) continue;
        const { addHi, addLo, rem } = c;
        for (let k = 0; k < t.size; k++) {
          addHi[k] = (t.lo + k) * vHi;
          addLo[k] = (t.lo + k) * vLo + (rem[k] ?? 0);
        }
        credit(c.idx, c.hi, c.lo, addHi, addLo, c.n);
      }
      if (endsMonth(epoch, model.epochLengthSeconds)) closeMonth();
      return { minted: honestOwed, clamped };
    },

    payouts() {
      return {
        mode: "individual",
        monthSeconds: MONTH_SECONDS,
        classes: classes.map((k, j) => {
          const cohort = model.providers.cohorts[k.cohort];
          return { sizes: k.sizes, cohort: cohort?.name ?? "", weight: cohort?.weight ?? 1, months: months[j] ?? [] };
        }),
      };
    },
  };
}
