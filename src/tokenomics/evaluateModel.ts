import type { AuditEvidence } from "./gatherAuditEvidence.ts";
import type { Model } from "./modelSchema.ts";
import { simulate, type SimSummary } from "./simulate.ts";

/** A scorecard line's verdict; INFO lines are context and never fail a model. */
export type CheckStatus = "PASS" | "WARN" | "FAIL" | "INFO";

/** One line of the scorecard: the verdict and the figure behind it. */
export type Check = { id: string; title: string; status: CheckStatus; figure: string; data?: unknown };

/** The evaluator's result: `ok` is false when any check FAILs (the CLI exits 1). */
export type Scorecard = { model: string; basis: string; checks: Check[]; ok: boolean };

/** Attack sizes swept by the self-dealing check, as multiples of the honest volume. */
export const ATTACK_SIZES = [0.1, 0.3, 1, 3, 10] as const;

/** Thresholds of the checks; docs/TOKENOMICS.md explains each. */
export const THRESHOLDS = {
  /** Long-run net inflation per year: PASS at or below, WARN up to `inflationFail`, FAIL above. */
  inflationPass: 0.05,
  inflationFail: 0.1,
  /** Deflation steeper than this is a WARN (providers paid in a token that gets scarce fast). */
  deflationWarn: -0.15,
  /** A self-dealing return above this (but <= 0) is a WARN: break-even leaves no safety margin. */
  selfDealingMargin: -0.05,
  /** Sybil: reward per unit of work may grow by at most this much when split into N identities (rounding). */
  sybilPass: 1e-6,
  sybilFail: 0.01,
  /** P(no winning ticket in a week) for the small provider. */
  noWinPass: 0.05,
  noWinFail: 0.5,
};

const pct = (v: number | null, digits = 1): string => (v === null ? "n/a" : !Number.isFinite(v) ? "∞" : `${(v * 100).toFixed(digits)}%`);
const yearOf = (epoch: number, model: Model): number => Math.floor((epoch * model.epochLengthSeconds) / (365 * 86_400)) + 1;

/** A variant of `model` with the attacker set to `selfDealing` x honest volume split over `identities`. */
function withAttack(model: Model, selfDealing: number, identities: number): Model {
  return { ...model, attackers: { ...model.attackers, selfDealing, sybilIdentities: identities } };
}

/**
 * The attacker's best outcome: the return of its best epoch (an attacker picks when to attack),
 * or of the whole run if higher. A free attack that earns something is an infinite return.
 */
function attackReturn(s: SimSummary): { run: number; worst: number } {
  const free = s.attacker.reward > 0n ? Infinity : -1;
  const run = s.attacker.return ?? free;
  const worst = Math.max(run, s.attacker.worstEpochReturn ?? free);
  return { run, worst };
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function inflationCheck(model: Model, s: SimSummary): Check[] {
  const x = s.longRunInflation;
  const status: CheckStatus = x > THRESHOLDS.inflationFail ? "FAIL" : x > THRESHOLDS.inflationPass || x < THRESHOLDS.deflationWarn ? "WARN" : "PASS";
  const kCap =
    s.basis === "paid" || s.basis === "burnAndMint"
      ? s.firstKCapBindEpoch === null
        ? "the usage cap never binds"
        : `the ${s.basis === "paid" ? "k x burn" : "usage"} cap binds in ${pct(s.kCapBindShare, 0)} of epochs (first in year ${yearOf(s.firstKCapBindEpoch, model)})`
      : "no usage cap in this basis";
  const supplyCap = s.firstSupplyCapBindEpoch === null ? "the supply cap never binds" : `the supply cap first clamps a mint in year ${yearOf(s.firstSupplyCapBindEpoch, model)}`;
  return [
    {
      id: "inflation",
      title: "Long-run net inflation",
      status,
      figure: `${pct(x)}/yr over the last year; ${kCap}; ${supplyCap}`,
      data: { longRunInflation: x, kCapBindShare: s.kCapBindShare, firstKCapBindEpoch: s.firstKCapBindEpoch, firstSupplyCapBindEpoch: s.firstSupplyCapBindEpoch },
    },
    {
      id: "supply-cap",
      title: "Supply never exceeds the cap",
      status: s.maxSupply <= s.cap ? "PASS" : "FAIL",
      figure: `peak ${s.maxSupply / 10n ** 18n} of cap ${s.cap / 10n ** 18n} tokens (${pct(Number(s.maxSupply) / Number(s.cap))})`,
    },
  ];
}

async function selfDealingChecks(model: Model, signal?: AbortSignal): Promise<Check[]> {
  const sweep = async (m: Model) => {
    const out: { size: number; run: number; worst: number }[] = [];
    for (const size of ATTACK_SIZES) {
      await nextTick(); // let I/O (the audit's solhint run) progress between simulations
      out.push({ size, ...attackReturn(simulate(withAttack(m, size, 1), { signal }).summary) });
    }
    return out;
  };
  const results = await sweep(model);
  const worst = Math.max(...results.map((r) => r.worst));
  const status: CheckStatus = worst > 0 ? "FAIL" : worst > THRESHOLDS.selfDealingMargin ? "WARN" : "PASS";
  const figure = (rs: { size: number; run: number; worst: number }[]) => `${rs.map((r) => `${r.size}x: ${pct(r.run, 0)}`).join(", ")}; best epoch for the attacker ${pct(Math.max(...rs.map((r) => r.worst)), 2)}`;
  const data = (rs: { size: number; run: number; worst: number }[]) =>
    rs.map((r) => ({ size: r.size, return: Number.isFinite(r.run) ? r.run : null, bestEpochReturn: Number.isFinite(r.worst) ? r.worst : null }));
  const checks: Check[] = [
    {
      id: "self-dealing",
      title: "Self-dealing return (rewards - cost) / cost, over the run",
      status,
      figure: `${figure(results)}${worst > 0 ? " -> self-dealing pays" : ""}`,
      data: data(results),
    },
  ];
  if (model.rewards.basis === "paid" && model.rewards.kBps !== "none") {
    // What the bound buys: the same sweep with the k x burn cap removed.
    const uncapped = await sweep({ ...model, rewards: { ...model.rewards, kBps: "none" } });
    checks.push({
      id: "self-dealing-without-k",
      title: "Same attack without the k x burn cap (comparison)",
      status: "INFO",
      figure: figure(uncapped),
      data: data(uncapped),
    });
  }
  return checks;
}

function sybilCheck(model: Model, signal?: AbortSignal): Check {
  const n = Math.max(model.attackers.sybilIdentities, 10);
  // A small operator: 1% of the honest volume, as one identity or split over n.
  const run = (ids: number) => simulate(withAttack(model, 0.01, ids), { signal }).summary.attacker;
  const one = run(1);
  const many = run(n);
  const perWork = (a: SimSummary["attacker"]) => (a.paid === 0n ? 0 : Number(a.reward) / Number(a.paid));
  const base = perWork(one);
  const split = perWork(many);
  const advantage = base === 0 ? (split > 0 ? Infinity : 0) : split / base - 1;
  const status: CheckStatus = advantage > THRESHOLDS.sybilFail ? "FAIL" : advantage > THRESHOLDS.sybilPass ? "WARN" : "PASS";
  return {
    id: "sybil",
    title: `Sybil split (${n} identities vs 1): change in reward per unit of work`,
    status,
    figure: `${advantage >= 0 ? "+" : ""}${pct(advantage, 4)} (reward/paid value ${base.toPrecision(4)} -> ${split.toPrecision(4)})`,
    data: { identities: n, advantage: Number.isFinite(advantage) ? advantage : null, rewardPerWorkOne: base, rewardPerWorkSplit: split },
  };
}

function payoutVarianceCheck(model: Model, s: SimSummary): Check {
  const p = s.smallProviderNoWinWeek.max;
  return {
    id: "payout-variance",
    title: `Small provider (${model.smallProvider.gibPerEpoch} GiB/epoch): P(no winning ticket in a week)`,
    status: p >= THRESHOLDS.noWinFail ? "FAIL" : p >= THRESHOLDS.noWinPass ? "WARN" : "PASS",
    figure: `worst ${pct(p, 2)} (start ${pct(s.smallProviderNoWinWeek.first, 2)}, end ${pct(s.smallProviderNoWinWeek.last, 2)})`,
    data: s.smallProviderNoWinWeek,
  };
}

/** Scorecard lines for the contracts' audit readiness, from gathered evidence. */
export function auditChecks(e: AuditEvidence): Check[] {
  const t = e.tests;
  const total = t.unit + t.fuzz + t.invariant;
  const solhint = e.solhint;
  return [
    {
      id: "audit-tests",
      title: "Solidity tests (unit / fuzz / invariant)",
      status: total === 0 ? "FAIL" : t.fuzz === 0 || t.invariant === 0 ? "WARN" : "PASS",
      figure: `${t.unit} / ${t.fuzz} / ${t.invariant} in ${t.files} files`,
      data: t,
    },
    {
      id: "audit-errors",
      title: "Custom errors vs string reverts",
      status: e.stringReverts.count === 0 && e.customErrors > 0 ? "PASS" : "WARN",
      figure: `${e.customErrors} custom errors, ${e.stringReverts.count} string reverts${e.stringReverts.count > 0 ? ` (${e.stringReverts.where.join(", ")})` : ""}`,
    },
    {
      id: "audit-events",
      title: "Events on state-changing functions",
      status: e.stateChanging > 0 && e.withoutEvent.length === 0 ? "PASS" : "WARN",
      figure: `${e.stateChanging - e.withoutEvent.length}/${e.stateChanging} emit${e.withoutEvent.length > 0 ? `; none in ${e.withoutEvent.join(", ")}` : ""}`,
    },
    {
      id: "audit-solhint",
      title: "solhint (.solhint.json)",
      status: solhint === null ? "WARN" : solhint.errors > 0 ? "FAIL" : solhint.warnings > 0 ? "WARN" : "PASS",
      figure:
        solhint === null
          ? `not run: ${e.solhintProblem ?? "no contracts"}`
          : `${solhint.errors} errors, ${solhint.warnings} warnings${Object.keys(solhint.rules).length > 0 ? ` (${Object.entries(solhint.rules).map(([r, n]) => `${r} ${n}`).join(", ")})` : ""}`,
      data: solhint,
    },
  ];
}

/**
 * Evaluates a model against the checklist: long-run inflation and when the caps bind, supply
 * under the cap, self-dealing return across attack sizes (FAIL if ever positive), Sybil-split
 * advantage, small-provider payout variance, and, when `audit` evidence is given (bandmint's own
 * contracts), audit readiness. Runs the simulator 8 times (13 for the paid basis), always in
 * cohort mode; `audit` may be a promise so that gathering it (solhint is slow) overlaps the simulations.
 */
export async function evaluateModel(modelAsGiven: Model, options: { audit?: AuditEvidence | Promise<AuditEvidence>; signal?: AbortSignal } = {}): Promise<Scorecard> {
  // The checks are about network aggregates and expected values, which cohort mode computes
  // exactly and fast; individual mode adds the lottery's spread per provider (bandmint sim).
  const model: Model = { ...modelAsGiven, providers: { ...modelAsGiven.providers, mode: "cohort" } };
  const base = simulate(model, { signal: options.signal }).summary;
  const checks: Check[] = [...inflationCheck(model, base), ...(await selfDealingChecks(model, options.signal))];
  await nextTick();
  checks.push(sybilCheck(model, options.signal), payoutVarianceCheck(model, base));
  if (options.audit !== undefined) checks.push(...auditChecks(await options.audit));
  return { model: model.name, basis: model.rewards.basis, checks, ok: !checks.some((c) => c.status === "FAIL") };
}
