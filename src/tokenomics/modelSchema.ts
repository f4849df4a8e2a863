import * as z from "zod";
import { parseDecimal } from "./parseDecimal.ts";

/** Token amounts in a model file are decimal tokens ("1.5"); the simulator works in wei (1e-18). */
export const TOKEN_DECIMALS = 18;
/** Fiat prices in a model file are decimals; internally they are integer nano-units (1e-9). */
export const FIAT_DECIMALS = 9;
/** Providers active at once in individual mode (about 40 bytes of typed arrays each). */
export const MAX_INDIVIDUAL_PROVIDERS = 10_000_000;

const decimalAmount = (decimals: number, what: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const parsed = parseDecimal(value, decimals);
    if (parsed === undefined) {
      ctx.addIssue({ code: "custom", message: `must be a non-negative decimal ${what} (at most ${decimals} decimals), got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return parsed;
  });
const tokens = () => decimalAmount(TOKEN_DECIMALS, "token amount");
const bps = (max = 10_000) => z.number().int("must be an integer").min(0, "must be >= 0").max(max, `must be <= ${max}`);
const count = () => z.number().int("must be an integer").min(0, "must be >= 0");
const positiveInt = () => z.number().int("must be an integer").min(1, "must be >= 1");
const rate = () => z.number().min(-0.99, "must be >= -0.99").max(100, "must be <= 100");
const share = () => z.number().min(0, "must be >= 0").max(1, "must be <= 1");

/**
 * How providers are simulated. cohort: each cohort's providers are paid the expected value of
 * their traffic (fast, O(cohorts)); individual: each provider on its own, its winning tickets
 * drawn from the lottery (O(providers)), with per-provider payout distributions.
 */
export const providerModeSchema = z.enum(["cohort", "individual"], "must be cohort or individual");

const cohortSchema = z.strictObject({
  name: z.string().min(1, "must not be empty"),
  /** Providers in the cohort at epoch 0. */
  count: count(),
  /** Relative capacity of one provider: traffic is split in proportion to count x weight. */
  weight: z.number().int("must be an integer").min(1, "must be >= 1").default(1),
  /** Tokens staked per provider (the inflation basis pays in proportion to stake). */
  stake: tokens().prefault(0),
});

const tokenPriceSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("series"),
    /** Fiat price of one token at epochs 0, stepEpochs, 2 x stepEpochs, ...; linear in between, last value held. */
    values: z.array(z.number().positive("must be > 0")).min(1, "must have at least one value"),
    stepEpochs: positiveInt().default(1),
  }),
  z.strictObject({
    kind: z.literal("elastic"),
    initial: z.number().positive("must be > 0"),
    /** price ~ (supply / supply0)^-supplyElasticity: dilution lowers the price. */
    supplyElasticity: z.number().min(0, "must be >= 0").max(10, "must be <= 10").default(1),
    /** price ~ (demand / demand0)^demandElasticity: usage raises it. */
    demandElasticity: z.number().min(0, "must be >= 0").max(10, "must be <= 10").default(0),
    /** Daily-scale volatility of a multiplicative random walk (0 = none). */
    volatility: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(0),
  }),
]);

/** The raw shape of a model file (YAML or JSON), with units converted: tokens to wei, fiat to nano-units. */
export const modelSchema = z
  .strictObject({
    name: z.string().min(1, "must not be empty"),
    description: z.string().default(""),
    seed: z.number().int("must be an integer").min(0, "must be >= 0").max(2 ** 32 - 1, "must be < 2^32").default(1),
    epochs: positiveInt().max(100_000, "must be <= 100000"),
    epochLengthSeconds: positiveInt().default(86_400),
    token: z.strictObject({
      genesisSupply: tokens(),
      cap: tokens(),
    }),
    emission: z.strictObject({
      /** Tokens per epoch in the first decay period. */
      initial: tokens(),
      decayPeriodEpochs: positiveInt(),
      /** Share of the emission kept from one period to the next (5000 = halving). */
      decayBps: bps(),
    }),
    rewards: z.strictObject({
      basis: z.enum(["paid", "selfReported", "burnAndMint", "inflation"], "must be one of paid, selfReported, burnAndMint, inflation"),
      /** paid basis: usage rewards capped at kBps/10000 x burned; "none" removes the cap (for comparison only). */
      kBps: z.union([bps(1_000_000), z.literal("none")]).default(8000),
      vestingEpochs: count().default(0),
      /** burnAndMint basis: usage rewards (= value burned) capped at this share of the epoch's emission. */
      usageCapBps: bps().default(4000),
      /** inflation basis: annual inflation of the supply paid to stakers, in bps. */
      inflationBps: bps(100_000).default(0),
    }),
    fees: z.strictObject({
      burnBps: bps(),
      treasuryBps: bps(),
    }),
    pricing: z.strictObject({
      /** Price of one GiB, in fiat or in tokens according to `unit`. */
      perGiB: z.union([z.string(), z.number()]),
      unit: z.enum(["fiat", "token"], "must be fiat or token").default("fiat"),
    }),
    demand: z.strictObject({
      initialGiBPerEpoch: z.number().min(0, "must be >= 0"),
      annualGrowth: rate().default(0),
      /** Log-normal noise of each epoch's demand (sigma); 0 = smooth. */
      noise: z.number().min(0, "must be >= 0").max(2, "must be <= 2").default(0),
    }),
    providers: z.strictObject({
      mode: providerModeSchema.default("cohort"),
      annualGrowth: rate().default(0),
      annualChurn: share().default(0),
      cohorts: z.array(cohortSchema).min(1, "must have at least one cohort"),
    }),
    smallProvider: z
      .strictObject({ gibPerEpoch: z.number().positive("must be > 0") })
      .default({ gibPerEpoch: 1 }),
    tickets: z.strictObject({
      /** Face value of a ticket, in tokens or in fiat according to `unit` (a fiat face value is converted at each epoch's price). */
      faceValue: z.union([z.string(), z.number()]),
      unit: z.enum(["fiat", "token"], "must be fiat or token").default("token"),
      bytesPerTicket: positiveInt(),
    }),
    tokenPrice: tokenPriceSchema,
    attackers: z
      .strictObject({
        /** Self-dealt volume per epoch as a multiple of the honest volume (0 = no attacker). */
        selfDealing: z.number().min(0, "must be >= 0").max(1000, "must be <= 1000").default(0),
        /** Identities the attacker splits its volume across. */
        sybilIdentities: positiveInt().max(1_000_000, "must be <= 1000000").default(1),
        /** Cost of moving (or faking) one GiB beyond the fees: bandwidth, gas. Tokens. */
        overheadPerGiB: tokens().prefault(0),
        /** Fixed cost of running one identity for one epoch (hardware, stake opportunity). Tokens. */
        costPerIdentityPerEpoch: tokens().prefault(0),
      })
      .prefault({}),
  })
  .superRefine((m, ctx) => {
    if (m.fees.burnBps + m.fees.treasuryBps > 10_000) {
      ctx.addIssue({ code: "custom", path: ["fees", "treasuryBps"], message: "burnBps + treasuryBps must be <= 10000" });
    }
    if (m.token.genesisSupply > m.token.cap) {
      ctx.addIssue({ code: "custom", path: ["token", "genesisSupply"], message: "must be <= token.cap" });
    }
    const priceDecimals = m.pricing.unit === "fiat" ? FIAT_DECIMALS : TOKEN_DECIMALS;
    const price = parseDecimal(m.pricing.perGiB, priceDecimals);
    if (price === undefined || price === 0n) {
      ctx.addIssue({ code: "custom", path: ["pricing", "perGiB"], message: `must be a positive decimal with at most ${priceDecimals} decimals` });
    }
    const faceDecimals = m.tickets.unit === "fiat" ? FIAT_DECIMALS : TOKEN_DECIMALS;
    const face = parseDecimal(m.tickets.faceValue, faceDecimals);
    if (face === undefined || face === 0n) {
      ctx.addIssue({ code: "custom", path: ["tickets", "faceValue"], message: `must be a positive decimal with at most ${faceDecimals} decimals` });
    }
    const providers = m.providers.cohorts.reduce((n, c) => n + c.count, 0);
    if (m.providers.mode === "individual" && providers > MAX_INDIVIDUAL_PROVIDERS) {
      ctx.addIssue({
        code: "custom",
        path: ["providers", "mode"],
        message: `individual mode simulates each provider: at most ${MAX_INDIVIDUAL_PROVIDERS.toLocaleString("en")} providers (got ${providers.toLocaleString("en")}); use mode: cohort`,
      });
    }
    if (m.rewards.basis === "inflation" && m.providers.cohorts.every((c) => c.stake === 0n)) {
      ctx.addIssue({ code: "custom", path: ["providers", "cohorts"], message: "the inflation basis needs a cohort with stake > 0" });
    }
  })
  .transform((m) => ({
    ...m,
    // Checked by superRefine above: the parse cannot fail here.
    tickets: { ...m.tickets, faceValue: parseDecimal(m.tickets.faceValue, m.tickets.unit === "fiat" ? FIAT_DECIMALS : TOKEN_DECIMALS) ?? 1n },
    pricing: { unit: m.pricing.unit, perGiB: parseDecimal(m.pricing.perGiB, m.pricing.unit === "fiat" ? FIAT_DECIMALS : TOKEN_DECIMALS) ?? 0n },
  }));

/**
 * A validated model. Token amounts are wei (1e-18 token); `pricing.perGiB` and `tickets.faceValue`
 * are nano-fiat (1e-9) when their `unit` is "fiat", wei when it is "token". Ratios (growth, noise, token price) are numbers.
 */
export type Model = z.output<typeof modelSchema>;
