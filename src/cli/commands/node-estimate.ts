import type { Abi } from "viem";
import { ticketBrokerAbi } from "../../chain/abis.ts";
import { createChainClients } from "../../chain/clients.ts";
import { readDeployment } from "../../chain/deployment.ts";
import { DEFAULT_DEPLOYMENT_PATH } from "../../client/clientConfig.ts";
import { offersService } from "../../market/providerListing.ts";
import { readOffers } from "../../market/readOffers.ts";
import { DEFAULT_BYTES_PER_TICKET, defaultFaceValue, parseByteSize, parseConfigAmount } from "../../node/config.ts";
import { estimateEarnings } from "../../tokenomics/estimateEarnings.ts";
import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { UsageError } from "../usageError.ts";

const gib = (b: bigint) => `${(Number(b) / 2 ** 30).toFixed(1)} GiB`;

function positiveNumber(value: unknown, flag: string, max: number): number {
  const n = Number(value);
  if (typeof value !== "string" || !Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`must be a number in (0, ${max}]`, { flag });
  return n;
}

function amountFlag(value: string, flag: string, parse: (v: string) => bigint): bigint {
  try {
    return parse(value);
  } catch (error) {
    throw new UsageError((error as Error).message, { flag });
  }
}

const command: Command = {
  summary: "Should I run a node? Expected monthly traffic and earnings range for your upload, at the chain's current prices and demand",
  usage: "--upload-mbps N --hours H [--price-per-gib '1 BAND'] [--epochs 7] [--deployment FILE] [--rpc URL]",
  options: {
    "upload-mbps": { type: "string" },
    hours: { type: "string" },
    "price-per-gib": { type: "string" },
    "bytes-per-ticket": { type: "string" },
    "face-value": { type: "string" },
    epochs: { type: "string", default: "7" },
    deployment: { type: "string" },
    rpc: { type: "string" },
  },
  async run({ values, stdout }) {
    const uploadMbps = positiveNumber(values["upload-mbps"], "upload-mbps", 100_000);
    const hours = positiveNumber(values.hours, "hours", 24);
    const lookback = BigInt(Math.floor(positiveNumber(values.epochs, "epochs", 365)));
    const deployment = await readDeployment((values.deployment as string | undefined) ?? DEFAULT_DEPLOYMENT_PATH);
    const { publicClient } = await createChainClients({ rpcUrl: (values.rpc as string | undefined) ?? deployment.rpcUrl, chainId: deployment.chainId });
    const broker = { address: deployment.contracts.broker, abi: ticketBrokerAbi as Abi };
    const [listings, current] = await Promise.all([
      readOffers({ publicClient: publicClient as never, registry: deployment.contracts.registry }),
      publicClient.readContract({ ...broker, functionName: "currentEpoch" }) as Promise<bigint>,
    ]);
    const offers = listings.filter((l) => offersService(l, "cdn"));
    // Demand: the last finished epochs; on a young network with none, the current epoch so far, scaled to a whole one.
    const first = current > lookback ? current - lookback : 0n;
    const totals = async (e: bigint) => {
      const [paid, burned] = (await publicClient.readContract({ ...broker, functionName: "epochTotals", args: [e] })) as [bigint, bigint];
      return { paid, burned };
    };
    let epochs = await Promise.all(Array.from({ length: Number(current - first) }, (_, i) => totals(first + BigInt(i))));
    let partial = "";
    if (epochs.length === 0) {
      const now = BigInt((await publicClient.getBlock()).timestamp);
      const { epochLength, genesisTime } = deployment.params;
      const elapsed = now > genesisTime ? ((now - genesisTime) % epochLength) + 1n : 1n;
      const t = await totals(current);
      epochs = [{ paid: (t.paid * epochLength) / elapsed, burned: (t.burned * epochLength) / elapsed }];
      partial = " (no finished epoch yet: the current one so far, scaled to a whole epoch)";
    }
    const median = offers.length === 0 ? undefined : [...offers.map((o) => o.pricePerGiB)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[(offers.length - 1) >> 1];
    const price = typeof values["price-per-gib"] === "string" ? amountFlag(values["price-per-gib"], "price-per-gib", parseConfigAmount) : (median ?? 10n ** 18n);
    const bytesPerTicket = typeof values["bytes-per-ticket"] === "string" ? amountFlag(values["bytes-per-ticket"], "bytes-per-ticket", parseByteSize) : DEFAULT_BYTES_PER_TICKET;
    const faceValue = typeof values["face-value"] === "string" ? amountFlag(values["face-value"], "face-value", parseConfigAmount) : defaultFaceValue(price, bytesPerTicket);
    const p = deployment.params;
    const e = estimateEarnings({
      uploadMbps, hoursPerDay: hours, pricePerGiB: price, bytesPerTicket, faceValue, offers, epochs,
      epochLengthSeconds: p.epochLength, currentEpoch: current, burnBps: BigInt(p.burnBps), treasuryBps: BigInt(p.treasuryBps),
      schedule: { initialEmission: p.initialEmission, decayPeriodEpochs: p.decayPeriodEpochs, decayBps: p.decayBps, kBps: p.kBps, cap: p.cap, vestingEpochs: p.vestingEpochs },
    });
    const perDay = (month: bigint) => gib((month * 86_400n) / 2_592_000n);
    const prices = offers.map((o) => o.pricePerGiB);
    const market = offers.length === 0 ? "no other listings" : `${offers.length} listing(s) from ${formatToken(prices.reduce((a, b) => (a < b ? a : b)))} to ${formatToken(prices.reduce((a, b) => (a > b ? a : b)))}, median ${formatToken(median!)}`;
    const lines = [
      `estimate for ${uploadMbps} Mbps up, ${hours} h a day, 30 days, at ${formatToken(price)} per GiB (${market})`,
      `capacity    ${gib(e.capacityBytes)} a month at most`,
      `demand      ${perDay(e.demandBytes.expected)} a day paid across the network over the last ${epochs.length} epoch(s)${partial}`,
      `your share  ${(Number(e.shareBps) / 100).toFixed(2)}% of it by bandwidth: ${gib(e.bytes.expected)} a month`,
      `earnings    ${formatToken(e.gross)} gross, ${formatToken(e.net)} after the ${p.burnBps / 100}% burn and ${p.treasuryBps / 100}% treasury shares`,
      `rewards     ${formatToken(e.rewards)} usage rewards (k x burn cap, vesting over ${p.vestingEpochs} epochs)`,
      `range       ${formatToken(e.total.low)} to ${formatToken(e.total.high)} a month (expected ${formatToken(e.total.expected)}), gas for redemptions not included`,
      `variance    demand per epoch ranged ${perDay(e.demandBytes.low)} to ${perDay(e.demandBytes.high)} a day; tickets are a lottery: ~${e.lottery.expectedWinners.toFixed(1)} winning tickets of ${formatToken(faceValue)} a month, ±${(2 * e.lottery.sigmaWinners).toFixed(1)} (2σ), P(no winner in a month) = ${(e.lottery.pNoWin * 100).toFixed(1)}%. Consumers rank by price and speed: a price above the median lowers your share.`,
      "",
    ];
    stdout.write(lines.join("\n"));
    return 0;
  },
};
export default command;
