import type { Model } from "./modelSchema.ts";
import { compact, lineChart, percentTick } from "./lineChart.ts";
import type { PayoutClass, PayoutMonth, Payouts } from "./monthlyPayouts.ts";
import type { EpochRow, SimResult } from "./simulate.ts";

const WEI = 1e18;
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const tokens = (wei: bigint): number => Number(wei) / WEI;
const pct = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? "n/a" : `${(v * 100).toFixed(digits)}%`);
const usd = (v: number): string => (Math.abs(v) >= 0.01 ? `$${v.toFixed(4)}` : `$${v.toPrecision(3)}`);

/** Mean of the last `n` values at each point (NaN skipped): smooths daily noise without shifting the level. */
function rolling(values: number[], n: number): number[] {
  const out: number[] = [];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (Number.isFinite(v)) [sum, count] = [sum + v, count + 1];
    const old = i >= n ? (values[i - n] ?? NaN) : NaN;
    if (i >= n && Number.isFinite(old)) [sum, count] = [sum - old, count - 1];
    out.push(count === 0 ? NaN : sum / count);
  }
  return out;
}

/** The year (from the start) in which `epoch` falls, for the readings. */
const yearOf = (epoch: number, epochLength: number): string => `year ${Math.floor((epoch * epochLength) / (365 * 86_400)) + 1}`;

function chartCard(svg: string, reading: string): string {
  return `<section class="card">${svg}<p class="reading">${reading}</p></section>`;
}

/** "small provider (home, weight 1)": how a payout class is named in titles and readings. */
function className(c: PayoutClass): string {
  return `${c.sizes.join(" / ")} provider${c.sizes.length > 1 ? "s" : ""} (${c.cohort}, weight ${c.weight})`;
}

/**
 * The payout part of the report: in individual mode one chart per class (small, median, large)
 * with p10 / p50 / p90 and the mean of monthly earnings across providers; in cohort mode one
 * chart with each class's monthly earnings (the same for every provider of a cohort).
 */
function payoutSections(model: Model, payouts: Payouts): { sections: string[]; cards: [string, string][] } {
  const x = (months: PayoutMonth[]) => months.map((m) => (m.month + 1) / 12);
  const perMonth = (months: PayoutMonth[], f: (m: PayoutMonth) => bigint) => months.map((m) => (m.providers === 0 ? NaN : tokens(f(m))));
  const classes = payouts.classes.filter((c) => c.months.length > 0);
  if (classes.length === 0) return { sections: [], cards: [] };
  const xLabel = "years since launch";
  if (payouts.mode === "cohort") {
    const colors = ["#0891b2", "#7c3aed", "#b45309"];
    const chart = lineChart({
      title: "Monthly earnings per provider (fees + rewards granted), by provider class",
      x: x(classes[0]?.months ?? []),
      xLabel,
      yLabel: "tokens per month",
      series: classes.map((c, i) => ({ name: className(c), values: perMonth(c.months, (m) => m.mean), color: colors[i % colors.length] ?? "#0891b2" })),
    });
    const reading = classes
      .map((c) => `${className(c)}: ${compact(tokens(c.months[0]?.mean ?? 0n))} tokens in month 1, ${compact(tokens(c.months.at(-1)?.mean ?? 0n))} in month ${c.months.length}`)
      .join("; ");
    return {
      sections: [chartCard(chart, `${reading}. In cohort mode every provider of a cohort earns exactly this (the expected value of its tickets); run with providers.mode: individual (bandmint sim --mode individual) for the spread across providers.`)],
      cards: [],
    };
  }
  const sections = classes.map((c) => {
    const months = c.months;
    const chart = lineChart({
      title: `Monthly earnings of ${className(c)}: spread across providers`,
      x: x(months),
      xLabel,
      yLabel: "tokens per month",
      series: [
        { name: "p90", values: perMonth(months, (m) => m.p90), color: "#059669" },
        { name: "p50 (median)", values: perMonth(months, (m) => m.p50), color: "#2563eb", area: true },
        { name: "p10", values: perMonth(months, (m) => m.p10), color: "#dc2626" },
        { name: "mean", values: perMonth(months, (m) => m.mean), color: "#6b7280", dashed: true },
      ],
    });
    const first = months[0];
    const last = months.at(-1);
    const spread = (m: PayoutMonth | undefined) =>
      m === undefined || m.p50 === 0n ? "n/a" : `p10 ${pct(tokens(m.p10) / tokens(m.p50) - 1, 0)} / p90 +${pct(tokens(m.p90) / tokens(m.p50) - 1, 0)} of the median`;
    const worstZero = Math.max(...months.map((m) => m.zeroShare));
    return chartCard(
      chart,
      `Over the ${first?.providers.toLocaleString("en") ?? 0} ${c.cohort} providers present for all of month 1, the median earned ${compact(tokens(first?.p50 ?? 0n))} tokens (${spread(first)}); in month ${months.length}, ${compact(tokens(last?.p50 ?? 0n))} tokens (${spread(last)}). ` +
        `The spread is the ticket lottery alone: every provider of the cohort carries the same traffic. ${worstZero > 0 ? `In the worst month ${pct(worstZero, 2)} of them won no ticket at all.` : "No provider went a whole month without a winning ticket."}`,
    );
  });
  // The same spreads side by side, relative to each class's median: how much the lottery alone
  // moves a month's pay, and how it shrinks with size and traffic growth.
  const palette = ["#dc2626", "#2563eb", "#059669"];
  const relative = (m: PayoutMonth, v: bigint) => (m.providers === 0 || m.p50 === 0n ? NaN : tokens(v) / tokens(m.p50) - 1);
  const spreadChart = lineChart({
    title: "Spread of monthly earnings across providers: p10 and p90 relative to the median, by class",
    x: x(classes[0]?.months ?? []),
    xLabel,
    yLabel: "vs the median",
    formatY: percentTick,
    series: classes.flatMap((c, i) => [
      { name: `${c.cohort} p90`, values: c.months.map((m) => relative(m, m.p90)), color: palette[i % palette.length] ?? "#2563eb" },
      { name: `${c.cohort} p10`, values: c.months.map((m) => relative(m, m.p10)), color: palette[i % palette.length] ?? "#2563eb", dashed: true },
    ]),
  });
  const spreadOf = (c: PayoutClass, m: PayoutMonth | undefined) => (m === undefined ? "" : `${c.cohort} ${pct(relative(m, m.p10), 0)} / +${pct(relative(m, m.p90), 0)}`);
  sections.push(
    chartCard(
      spreadChart,
      `In month 1: ${classes.map((c) => spreadOf(c, c.months[0])).join(", ")}; in month ${classes[0]?.months.length ?? 0}: ${classes.map((c) => spreadOf(c, c.months.at(-1))).join(", ")}. A provider with λ winning tickets a month sees a relative spread of about ±1.28/√λ: more traffic, or a lower ticket face value, means steadier pay.`,
    ),
  );
  const small = classes.find((c) => c.sizes.includes("small"));
  const lastSmall = small?.months.at(-1);
  const cards: [string, string][] =
    lastSmall === undefined ? [] : [[`${small?.cohort} provider / month, p10–p90 (last month)`, `${compact(tokens(lastSmall.p10))}–${compact(tokens(lastSmall.p90))}`]];
  return { sections, cards };
}

/**
 * The report page of a run: key figures and inline SVG charts (supply, inflation, burn vs mint,
 * revenue per GiB, attacker return, token price, payout variance, monthly earnings per provider
 * class), each with a short reading
 * generated from the figures. Self-contained: no script, no CDN, no external resource.
 */
export function renderReport(model: Model, result: SimResult): string {
  const { rows, summary: s } = result;
  const epy = (365 * 86_400) / model.epochLengthSeconds;
  const x = rows.map((r) => r.epoch / epy);
  const smooth = Math.max(1, Math.round(epy / 12)); // about a month
  const col = (f: (r: EpochRow) => number) => rows.map(f);
  const xLabel = "years since launch";
  const first = rows[0];
  const last = rows.at(-1);
  if (first === undefined || last === undefined) throw new Error("renderReport: empty run");

  const supplyChart = lineChart({
    title: "Token supply",
    x,
    xLabel,
    yLabel: "tokens",
    series: [
      { name: "total supply", values: col((r) => tokens(r.supply)), color: "#2563eb", area: true },
      { name: "hard cap", values: col(() => tokens(model.token.cap)), color: "#dc2626", dashed: true },
      { name: "treasury", values: col((r) => tokens(r.treasury)), color: "#059669" },
      { name: "vesting (locked)", values: col((r) => tokens(r.locked)), color: "#9333ea" },
    ],
  });
  const capReading =
    s.firstSupplyCapBindEpoch === null
      ? `The hard cap of ${compact(tokens(s.cap))} is never reached (peak ${compact(tokens(s.maxSupply))}, ${pct(Number(s.maxSupply) / Number(s.cap))} of it).`
      : `The hard cap first clamps a mint in ${yearOf(s.firstSupplyCapBindEpoch, model.epochLengthSeconds)}; supply never exceeds it.`;

  const yearOneInflation = rolling(col((r) => r.netInflationAnnualised), Math.min(rows.length, Math.round(epy)))[Math.min(rows.length, Math.round(epy)) - 1] ?? NaN;
  const inflationChart = lineChart({
    title: `Net inflation, annualised (${smooth}-epoch average)`,
    x,
    xLabel,
    yLabel: "% per year",
    zeroLine: true,
    formatY: percentTick,
    series: [{ name: "net inflation (mint − burn)", values: rolling(col((r) => r.netInflationAnnualised), smooth), color: "#ea580c" }],
  });

  const burnChart = lineChart({
    title: `Burned vs minted per epoch (${smooth}-epoch average)`,
    x,
    xLabel,
    yLabel: "tokens per epoch",
    series: [
      { name: "burned", values: rolling(col((r) => tokens(r.burned)), smooth), color: "#dc2626" },
      { name: "minted", values: rolling(col((r) => tokens(r.minted)), smooth), color: "#2563eb" },
      { name: "schedule emission", values: col((r) => tokens(r.emission)), color: "#6b7280", dashed: true },
    ],
  });
  const burnReading =
    s.basis === "paid"
      ? s.kBps === "none"
        ? "The k × burn cap is removed in this run: rewards are the full emission whatever is burned."
        : `The k × burn cap (k = ${Number(s.kBps) / 10_000}) limits rewards in ${pct(s.kCapBindShare, 0)} of epochs${s.firstKCapBindEpoch === null ? "" : `, from ${yearOf(s.firstKCapBindEpoch, model.epochLengthSeconds)}`}; where the blue line sits under the dashed one, emission was left unminted (never carried over).`
      : s.basis === "burnAndMint"
        ? `Usage rewards hit their cap (${model.rewards.usageCapBps / 100}% of emission) in ${pct(s.kCapBindShare, 0)} of epochs; the rest of the emission pays availability per identity.`
        : s.basis === "inflation"
          ? "Minting follows the supply (inflation to stakers), not usage."
          : "Minting follows the fixed emission whatever the traffic: nothing ties it to payments.";

  const revenueTokensChart = lineChart({
    title: `Honest provider revenue per GiB, in tokens (${smooth}-epoch average)`,
    x,
    xLabel,
    yLabel: "tokens per GiB",
    series: [
      { name: "fees (after burn and treasury)", values: rolling(col((r) => tokens(r.feesPerGiB)), smooth), color: "#059669" },
      { name: "rewards", values: rolling(col((r) => tokens(r.rewardsPerGiB)), smooth), color: "#2563eb" },
    ],
  });
  const revenueFiatChart = lineChart({
    title: `Honest provider revenue per GiB, in fiat at the token price (${smooth}-epoch average)`,
    x,
    xLabel,
    yLabel: "USD per GiB",
    formatY: (v) => `$${+v.toPrecision(3)}`,
    series: [
      { name: "fees + rewards", values: rolling(col((r) => Number(r.revenuePerGiBFiatMicro) / 1e6), smooth), color: "#0891b2", area: true },
      { name: "consumer price", values: col((r) => (tokens(r.priceWeiPerGiB) * r.tokenPrice)), color: "#6b7280", dashed: true },
    ],
  });
  const rewardShare = (r: EpochRow) => (r.feesPerGiB === 0n ? 0 : Number(r.rewardsPerGiB) / Number(r.feesPerGiB));

  const attackerChart = lineChart({
    title: `Self-dealing attacker: return on cost per epoch (pays itself ${s.attacker.selfDealing}× the honest volume, ${s.attacker.identities} identit${s.attacker.identities === 1 ? "y" : "ies"})`,
    x,
    xLabel,
    yLabel: "(rewards − cost) / cost",
    zeroLine: true,
    formatY: percentTick,
    series: [{ name: "attacker return", values: col((r) => r.attackerReturn ?? NaN), color: "#b91c1c" }],
  });
  const attackerReading =
    s.attacker.return === null
      ? "No attacker in this model (attackers.selfDealing is 0), or the attack costs nothing: the evaluator sweeps attack sizes."
      : s.attacker.return < 0
        ? `Self-dealing loses: over the run the attacker paid ${compact(tokens(s.attacker.cost))} tokens in costs and got ${compact(tokens(s.attacker.reward))} back in rewards, a return of ${pct(s.attacker.return)}. Everything stays under the break-even line.`
        : `Self-dealing pays: the attacker spent ${compact(tokens(s.attacker.cost))} tokens and got ${compact(tokens(s.attacker.reward))} in rewards, a return of ${pct(s.attacker.return)} over the run. Any line above break-even is emission drained by fake traffic.`;

  const priceChart = lineChart({
    title: "Token price",
    x,
    xLabel,
    yLabel: "USD per token",
    formatY: (v) => `$${+v.toPrecision(3)}`,
    series: [{ name: "token price", values: col((r) => r.tokenPrice), color: "#7c3aed" }],
  });
  const noWinChart = lineChart({
    title: `Payout variance: P(no winning ticket in a week) for a provider moving ${model.smallProvider.gibPerEpoch} GiB per epoch`,
    x,
    xLabel,
    yLabel: "probability",
    formatY: percentTick,
    includeZero: true,
    series: [{ name: "P(no win in a week)", values: col((r) => r.smallProviderNoWinWeek), color: "#d97706" }],
  });

  const payouts = payoutSections(model, s.payouts);

  const cards: [string, string][] = [
    ["final supply (tokens)", compact(tokens(s.finalSupply))],
    ["long-run inflation", pct(s.longRunInflation)],
    ["attacker return", pct(s.attacker.return)],
    ["P(no win / week), worst", pct(s.smallProviderNoWinWeek.max, 2)],
    ["burned / minted", `${compact(tokens(s.totalBurned))} / ${compact(tokens(s.totalMinted))}`],
    ["providers (end)", compact(s.finalProviders)],
    ...payouts.cards,
  ];

  const sections = [
    chartCard(
      supplyChart,
      `Supply goes from ${compact(tokens(s.genesisSupply))} to ${compact(tokens(s.finalSupply))} tokens over ${(rows.length / epy).toFixed(1)} years. ${capReading} The treasury ends with ${compact(tokens(last.treasury))} tokens.`,
    ),
    chartCard(
      inflationChart,
      `Net inflation is ${pct(yearOneInflation)} a year in year 1 (average) and ${pct(s.longRunInflation)} over the last year. Below zero, burns outpace mints and holders are not diluted; above it, rewards dilute every holder.`,
    ),
    chartCard(burnChart, `Over the run ${compact(tokens(s.totalBurned))} tokens were burned and ${compact(tokens(s.totalMinted))} minted. ${burnReading}`),
    chartCard(
      revenueTokensChart,
      `At the start an honest provider earns ${tokens(first.feesPerGiB).toPrecision(3)} tokens per GiB in fees plus ${tokens(first.rewardsPerGiB).toPrecision(3)} in rewards (rewards = ${pct(rewardShare(first))} of fees); at the end ${tokens(last.feesPerGiB).toPrecision(3)} plus ${tokens(last.rewardsPerGiB).toPrecision(3)} (${pct(rewardShare(last))}).`,
    ),
    chartCard(
      revenueFiatChart,
      `In fiat, revenue per GiB goes from ${usd(Number(s.revenuePerGiBFiatMicro.first) / 1e6)} to ${usd(Number(s.revenuePerGiBFiatMicro.last) / 1e6)}. ${model.pricing.unit === "fiat" ? "Consumers pay a fixed fiat price (dashed); above it, rewards subsidise providers, below it burn and treasury take their share." : "Consumers pay a fixed token price: fiat revenue follows the token price."}`,
    ),
    chartCard(attackerChart, attackerReading),
    chartCard(
      priceChart,
      `The token price moves from ${usd(s.tokenPrice.first)} to ${usd(s.tokenPrice.last)} (range ${usd(s.tokenPrice.min)}–${usd(s.tokenPrice.max)}), ${model.tokenPrice.kind === "elastic" ? `responding to supply (elasticity ${model.tokenPrice.supplyElasticity}) and demand (${model.tokenPrice.demandElasticity}) with a random walk` : "following the given series"}.`,
    ),
    chartCard(
      noWinChart,
      `With tickets of face value ${model.tickets.unit === "fiat" ? `$${Number(model.tickets.faceValue) / 1e9}` : `${tokens(model.tickets.faceValue)} tokens`}, a small provider sees a week without any payout with probability ${pct(s.smallProviderNoWinWeek.first, 2)} at the start and ${pct(s.smallProviderNoWinWeek.last, 2)} at the end (worst ${pct(s.smallProviderNoWinWeek.max, 2)}). Lower face value means less variance but more redemptions to pay gas for.`,
    ),
    ...payouts.sections,
  ];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bandmint tokenomics — ${esc(model.name)}</title>
<style>
  body { margin: 0; background: #f3f4f6; color: #111827; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
  main { max-width: 1080px; margin: 0 auto; padding: 28px 20px 60px; }
  h1 { font-size: 26px; margin: 0 0 4px; }
  .sub { color: #4b5563; margin: 0 0 20px; }
  .figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin-bottom: 20px; }
  .figure { background: #fff; border-radius: 10px; padding: 12px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
  .figure b { display: block; font-size: 20px; }
  .figure span { color: #6b7280; font-size: 13px; }
  .card { background: #fff; border-radius: 12px; padding: 16px 18px 8px; margin: 0 0 18px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  .reading { color: #374151; margin: 6px 4px 10px; max-width: 900px; }
  footer { color: #6b7280; font-size: 13px; }
</style>
</head>
<body>
<main>
<h1>${esc(model.name)}: ${rows.length.toLocaleString("en")} epochs of ${model.epochLengthSeconds / 3600} h</h1>
<p class="sub">${esc(model.description)} Reward basis <b>${esc(s.basis)}</b>${s.basis === "paid" ? `, k = ${s.kBps === "none" ? "none (cap removed)" : Number(s.kBps) / 10_000}` : ""}, burn ${model.fees.burnBps / 100}%, treasury ${model.fees.treasuryBps / 100}%, vesting ${model.rewards.vestingEpochs} epochs, seed ${s.seed}.</p>
<div class="figures">${cards.map(([k, v]) => `<div class="figure"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join("")}</div>
${sections.join("\n")}
<footer>Generated by <code>bandmint sim</code> (${s.mode === "individual" ? "individual mode: every provider simulated on its own" : "cohort mode: providers grouped by cohort"}). Money is computed in integer token wei with the contracts' own arithmetic (src/tokenomics/rewardMath.ts); charts average each ${smooth} epochs where noted. Data: epochs.csv, epochs.json, summary.json beside this page.</footer>
</main>
</body>
</html>
`;
}
