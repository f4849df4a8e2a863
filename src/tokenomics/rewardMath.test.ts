import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BPS,
  InvalidRewardScheduleError,
  RAY,
  RewardMathError,
  decayFactorAt,
  emissionAt,
  epochBudget,
  mintableUnderCap,
  providerReward,
  splitFee,
  validateSchedule,
  vestedAmount,
  vestedTotal,
  type RewardSchedule,
} from "./rewardMath.ts";

const E18 = 10n ** 18n;
const base: RewardSchedule = {
  initialEmission: 1_000n * E18,
  decayPeriodEpochs: 10n,
  decayBps: 5_000n,
  kBps: 8_000n,
  cap: 1_000_000_000n * E18,
  vestingEpochs: 4n,
};

const scheduleArb = fc.record({
  initialEmission: fc.bigInt({ min: 0n, max: 10n ** 30n }),
  decayPeriodEpochs: fc.bigInt({ min: 1n, max: 1_000n }),
  decayBps: fc.bigInt({ min: 0n, max: BPS }),
  kBps: fc.bigInt({ min: 0n, max: BPS - 1n }),
  cap: fc.bigInt({ min: 0n, max: 10n ** 33n }),
  vestingEpochs: fc.bigInt({ min: 0n, max: 100n }),
});

test("emissionAt: halves exactly each period and is flat inside one", () => {
  assert.equal(emissionAt(base, 0n), 1_000n * E18);
  assert.equal(emissionAt(base, 9n), 1_000n * E18);
  assert.equal(emissionAt(base, 10n), 500n * E18);
  assert.equal(emissionAt(base, 35n), 125n * E18);
  // 0.9^3 = 0.729 is exact in RAY.
  assert.equal(emissionAt({ ...base, decayBps: 9_000n }, 30n), 729n * E18);
});

test("emissionAt: decayBps 10000 never decays, 0 stops after the first period", () => {
  assert.equal(emissionAt({ ...base, decayBps: BPS }, 10n ** 40n), base.initialEmission);
  assert.equal(emissionAt({ ...base, decayBps: 0n }, 9n), base.initialEmission);
  assert.equal(emissionAt({ ...base, decayBps: 0n }, 10n), 0n);
  assert.equal(decayFactorAt({ ...base, decayBps: 0n }, 0n), RAY);
});

test("emissionAt: halving floors to zero after ~90 periods (RAY precision) and stays there", () => {
  assert.equal(decayFactorAt(base, 890n), RAY >> 89n); // 2^-89 in RAY, floored
  assert.equal(decayFactorAt(base, 900n), 0n); // 2^90 > 1e27
  assert.equal(emissionAt(base, 200n), (base.initialEmission * (RAY >> 20n)) / RAY);
  assert.equal(emissionAt(base, (1n << 255n)), 0n);
});

test("property: emission never exceeds the exact rational value and never increases", () => {
  fc.assert(
    fc.property(scheduleArb, fc.bigInt({ min: 0n, max: 5_000n }), (s, epoch) => {
      const n = epoch / s.decayPeriodEpochs;
      const exact = (s.initialEmission * s.decayBps ** n) / BPS ** n;
      const e = emissionAt(s, epoch);
      assert.ok(e <= exact, `emission ${e} > exact ${exact}`);
      assert.ok(emissionAt(s, epoch + s.decayPeriodEpochs) <= e);
    }),
    { numRuns: 300 },
  );
});

test("property: the decay factor stays within n+1 ulps (of 1e27) of the exact power", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: BPS }), fc.bigInt({ min: 0n, max: 200n }), (decayBps, n) => {
      const s = { ...base, decayPeriodEpochs: 1n, decayBps };
      const exact = (RAY * decayBps ** n) / BPS ** n;
      const got = decayFactorAt(s, n);
      // Each of the <= 2*log2(n) floors loses < 1 ulp, amplified by at most 1 per later multiply.
      assert.ok(got <= exact && exact - got <= n + 1n, `factor ${got} vs ${exact}`);
    }),
    { numRuns: 300 },
  );
});

test("epochBudget: min(emission, k x burned)", () => {
  assert.equal(epochBudget(base, 0n, 100n * E18), 80n * E18);
  assert.equal(epochBudget(base, 0n, 10_000n * E18), 1_000n * E18);
  assert.equal(epochBudget(base, 0n, 0n), 0n);
  assert.equal(epochBudget(base, 0n, 3n), 2n); // floor(3 * 0.8)
});

test("property: budget <= emission and budget x 10000 <= burned x kBps", () => {
  fc.assert(
    fc.property(scheduleArb, fc.bigInt({ min: 0n, max: 1_000n }), fc.bigInt({ min: 0n, max: 10n ** 32n }), (s, e, burned) => {
      const b = epochBudget(s, e, burned);
      assert.ok(b <= emissionAt(s, e));
      assert.ok(b * BPS <= burned * s.kBps);
    }),
    { numRuns: 300 },
  );
});

test("property: providers' floored shares sum to at most the budget, lose < 1 wei each, and stay <= k x own burn", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: BPS - 1n }),
      fc.bigInt({ min: 0n, max: 10n ** 30n }),
      fc.array(fc.bigInt({ min: 0n, max: 10n ** 27n }), { minLength: 1, maxLength: 20 }),
      (kBps, emission, burned) => {
        const total = burned.reduce((a, b) => a + b, 0n);
        const budget = epochBudget({ ...base, initialEmission: emission, kBps }, 0n, total);
        let sum = 0n;
        for (const b of burned) {
          const r = providerReward(budget, b, total);
          assert.ok(r * BPS <= kBps * b, `reward ${r} > k x burn ${b}`);
          sum += r;
        }
        assert.ok(sum <= budget);
        if (total > 0n) assert.ok(budget - sum < BigInt(burned.length));
      },
    ),
    { numRuns: 300 },
  );
});

test("providerReward: zero burned pays nothing; a share above the total is rejected", () => {
  assert.equal(providerReward(100n, 0n, 0n), 0n);
  assert.equal(providerReward(100n, 0n, 7n), 0n);
  assert.equal(providerReward(100n, 1n, 3n), 33n);
  assert.throws(() => providerReward(100n, 4n, 3n), (e: unknown) => e instanceof RewardMathError && e.field === "burnedByProvider");
});

test("mintableUnderCap: clamps to the headroom and to 0 at or above the cap", () => {
  assert.equal(mintableUnderCap(10n, 100n, 50n), 10n);
  assert.equal(mintableUnderCap(10n, 100n, 95n), 5n);
  assert.equal(mintableUnderCap(10n, 100n, 100n), 0n);
  assert.equal(mintableUnderCap(10n, 100n, 120n), 0n);
});

test("vestedAmount: nothing in the start epoch, linear after, all at vestingEpochs", () => {
  assert.equal(vestedAmount(100n, 5n, 5n, 4n), 0n);
  assert.equal(vestedAmount(100n, 5n, 4n, 4n), 0n);
  assert.equal(vestedAmount(100n, 5n, 6n, 4n), 25n);
  assert.equal(vestedAmount(100n, 5n, 8n, 3n), 100n);
  assert.equal(vestedAmount(100n, 5n, 7n, 3n), 66n);
  assert.equal(vestedAmount(100n, 5n, 5n, 0n), 100n);
});

test("property: vestedAmount is monotone in time and bounded by the amount", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 10n ** 30n }),
      fc.bigInt({ min: 0n, max: 100n }),
      fc.bigInt({ min: 0n, max: 200n }),
      fc.bigInt({ min: 0n, max: 50n }),
      (amount, start, now, v) => {
        const a = vestedAmount(amount, start, now, v);
        assert.ok(a <= amount && a <= vestedAmount(amount, start, now + 1n, v));
        assert.equal(vestedAmount(amount, start, start + v, v), amount);
      },
    ),
    { numRuns: 300 },
  );
});

test("vestedTotal: one tranche is vestedAmount; several floor once on the open sum", () => {
  assert.equal(vestedTotal([{ amount: 100n, startEpoch: 5n }], 7n, 3n), vestedAmount(100n, 5n, 7n, 3n));
  // 10·1/3 + 10·2/3 = 10 (per-tranche floors would give 3 + 6 = 9); the third is fully vested.
  const tranches = [
    { amount: 7n, startEpoch: 0n },
    { amount: 10n, startEpoch: 4n },
    { amount: 10n, startEpoch: 3n },
  ];
  assert.equal(vestedTotal(tranches, 5n, 3n), 7n + 10n);
  assert.equal(vestedTotal(tranches, 5n, 0n), 27n);
  assert.equal(vestedTotal([], 5n, 3n), 0n);
});

test("property: vestedTotal is monotone, within [sum of floors, + open count), and whole at the end", () => {
  const trancheArb = fc.record({ amount: fc.bigInt({ min: 0n, max: 10n ** 30n }), startEpoch: fc.bigInt({ min: 0n, max: 50n }) });
  fc.assert(
    fc.property(fc.array(trancheArb, { maxLength: 12 }), fc.bigInt({ min: 0n, max: 100n }), fc.bigInt({ min: 1n, max: 30n }), (ts, now, v) => {
      const open = ts.filter((t) => t.startEpoch <= now);
      const total = vestedTotal(open, now, v);
      const floors = open.reduce((a, t) => a + vestedAmount(t.amount, t.startEpoch, now, v), 0n);
      assert.ok(floors <= total && total < floors + BigInt(Math.max(open.length, 1)));
      assert.ok(total <= vestedTotal(open, now + 1n, v));
      assert.equal(vestedTotal(open, now + v, v), open.reduce((a, t) => a + t.amount, 0n));
    }),
    { numRuns: 300 },
  );
});

test("splitFee: burn and treasury floor, the recipient takes the dust", () => {
  assert.deepEqual(splitFee(10_001n, 2_000n, 500n), { burn: 2_000n, treasury: 500n, recipient: 7_501n });
  assert.deepEqual(splitFee(4n, 2_000n, 500n), { burn: 0n, treasury: 0n, recipient: 4n });
  assert.throws(() => splitFee(1n, 9_000n, 1_001n), RewardMathError);
});

test("validateSchedule: rejects what the Rewards constructor rejects", () => {
  validateSchedule(base);
  assert.throws(() => validateSchedule({ ...base, kBps: BPS }), (e: unknown) => e instanceof InvalidRewardScheduleError && e.field === "kBps");
  assert.throws(() => validateSchedule({ ...base, decayBps: BPS + 1n }), InvalidRewardScheduleError);
  assert.throws(() => validateSchedule({ ...base, decayPeriodEpochs: 0n }), InvalidRewardScheduleError);
  assert.throws(() => validateSchedule({ ...base, vestingEpochs: 1n << 64n }), InvalidRewardScheduleError);
  assert.throws(() => validateSchedule({ ...base, cap: 1n << 128n }), InvalidRewardScheduleError);
  validateSchedule({ ...base, kBps: 15_000n }, { allowUncappedK: true });
});

/**
 * Self-dealing in one epoch, in tokens, as the broker and Rewards do it: the attacker pays itself
 * `tickets` (amounts actually paid, so partial payments are just smaller amounts) and the honest
 * provider `honestTickets`; each ticket is split on its own (burn floored per ticket) and rewards
 * are shared by burned value. Returns the attacker's net (recipient shares + reward - paid) and
 * what it burned. Cap and vesting are ignored: they only reduce the reward.
 */
function selfDealing(
  s: RewardSchedule,
  tickets: readonly bigint[],
  honestTickets: readonly bigint[],
  burnBps: bigint,
  treasuryBps: bigint,
): { net: bigint; burned: bigint } {
  const sum = (ts: readonly bigint[], pick: (f: ReturnType<typeof splitFee>) => bigint) =>
    ts.reduce((acc, p) => acc + pick(splitFee(p, burnBps, treasuryBps)), 0n);
  const burned = sum(tickets, (f) => f.burn);
  const burnedTotal = burned + sum(honestTickets, (f) => f.burn);
  const reward = providerReward(epochBudget(s, 0n, burnedTotal), burned, burnedTotal);
  const paid = tickets.reduce((a, b) => a + b, 0n);
  return { net: sum(tickets, (f) => f.recipient) + reward - paid, burned };
}

// A ticket is dust (1-10 wei: around 10000 / burnBps, where the floored burn is 0 or 1 wei) or
// large; a partly paid ticket is just a smaller paid amount, so dust covers it too.
const ticketArb = fc.oneof(fc.bigInt({ min: 1n, max: 10n }), fc.bigInt({ min: 1n, max: 10n ** 24n }));

test("property: with k < 1 self-dealing never gains and loses at least (1-k) x its burn, dust and partial tickets included", () => {
  fc.assert(
    fc.property(
      scheduleArb,
      fc.array(ticketArb, { maxLength: 12 }),
      fc.array(ticketArb, { maxLength: 4 }),
      fc.bigInt({ min: 0n, max: 5_000n }),
      fc.bigInt({ min: 0n, max: 5_000n }),
      (s, tickets, honestTickets, burnBps, treasuryBps) => {
        const { net, burned } = selfDealing(s, tickets, honestTickets, burnBps, treasuryBps);
        assert.ok(net <= 0n, `net ${net}`);
        assert.ok(-net * BPS >= (BPS - s.kBps) * burned, `loss ${-net} < (1-k) x burned ${burned}`);
        if (burned > 0n) assert.ok(net < 0n);
      },
    ),
    { numRuns: 500 },
  );
});

test("dust tickets earn nothing; shared by paid value they would have (the hole this closes)", () => {
  const honest = [1_000n * E18];
  const dust = Array.from({ length: 40 }, () => 4n); // 4 wei: floor(4 x 20%) = 0 burned
  assert.deepEqual(selfDealing(base, dust, honest, 2_000n, 500n), { net: 0n, burned: 0n });
  // The old rule: the same budget shared by paid value gives the dust 25 wei for nothing.
  const budget = epochBudget(base, 0n, 200n * E18);
  assert.equal(providerReward(budget, 160n, 1_000n * E18 + 160n), 25n);
  // 9-wei tickets burn 1 wei each (floor of 1.8): 40 of them get back exactly 0.8 x 40 = 32 wei.
  const nine = Array.from({ length: 40 }, () => 9n);
  assert.deepEqual(selfDealing(base, nine, honest, 2_000n, 500n), { net: -8n, burned: 40n });
});

test("with k >= 1 (cap removed) self-dealing profits", () => {
  const uncapped = { ...base, kBps: 15_000n, initialEmission: 10n ** 30n };
  validateSchedule(uncapped, { allowUncappedK: true });
  const paid = [1_000n * E18];
  // burn 20% and treasury 5% cost 250; k = 1.5 returns 1.5 x 200 = 300.
  assert.equal(selfDealing(uncapped, paid, [], 2_000n, 500n).net, 50n * E18);
  // The same traffic under k = 0.8 loses 90.
  assert.equal(selfDealing({ ...uncapped, kBps: 8_000n }, paid, [], 2_000n, 500n).net, -90n * E18);
});
