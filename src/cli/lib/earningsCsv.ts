import { formatUnits } from "viem";
import type { EarningRow } from "../../node/operator/earningsIndexer.ts";

/** CSV header of `bandmint earnings --csv`; amounts are exact decimals (18 places at most). */
export const EARNINGS_CSV_HEADER =
  "kind,time_utc,unix_time,block,epoch,tx_hash,ticket_hash,sender,nonce,gross_band,burn_band,treasury_band,net_band,reward_band,withdrawn_band,gas_native";

/**
 * Earning rows as CSV, one line per redeemed ticket, reward claim or vesting withdrawal: the file an
 * accountant asks for. Token columns are BAND, `gas_native` is the chain's coin (ETH on Ethereum).
 */
export function earningsCsv(rows: readonly EarningRow[]): string {
  const d = (wei: bigint) => formatUnits(wei, 18);
  const lines = rows.map((r) =>
    [
      r.kind, new Date(r.time * 1000).toISOString(), r.time, r.block, r.epoch ?? "", r.txHash, r.ticketHash ?? "", r.sender ?? "", r.nonce ?? "",
      d(r.gross), d(r.burn), d(r.treasury), d(r.net), d(r.reward), d(r.withdrawn), d(r.gas),
    ].join(","),
  );
  return `${[EARNINGS_CSV_HEADER, ...lines].join("\n")}\n`;
}
