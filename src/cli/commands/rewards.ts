import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { openOperatorChain, operatorChainOptions } from "../lib/operatorChain.ts";
import { UsageError } from "../usageError.ts";
import { createEarningsIndexer } from "../../node/operator/earningsIndexer.ts";
import { readRewards } from "../../node/operator/readRewards.ts";
import { claimRewards, withdrawVested } from "../../node/operator/rewardActions.ts";

const when = (t: number) => new Date(t * 1000).toISOString();

const command: Command = {
  summary: "A provider's epoch rewards: status (claimable epochs, vesting), claim (all claimable epochs in one claimMany), withdraw (the vested part)",
  usage: "[status|claim|withdraw] [--config node.yaml | --rpc URL --deployment FILE --key 0x..]",
  options: { ...operatorChainOptions },
  async run({ values, positionals, stdout }) {
    const action = positionals[0] ?? "status";
    if (!["status", "claim", "withdraw"].includes(action) || positionals.length > 1) throw new UsageError(`unknown action '${positionals.join(" ")}': use status, claim or withdraw`);
    const { deployment, clients, provider } = await openOperatorChain(values, process.env);
    const index = await createEarningsIndexer({ publicClient: clients.publicClient, deployment, provider }).sync();
    const r = await readRewards({ publicClient: clients.publicClient, deployment, provider, index });
    const signer = { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment };
    if (action === "claim") {
      const c = await claimRewards({ ...signer, epochs: r.claimable.map((e) => e.epoch) });
      stdout.write(`claimed epochs ${c.epochs.join(", ")}: ${formatToken(c.minted)} granted in Vesting (${c.txHash})\n`);
      return 0;
    }
    if (action === "withdraw") {
      const w = await withdrawVested({ ...signer, withdrawable: r.vesting.withdrawable });
      stdout.write(`withdrew ${formatToken(w.amount)} (${w.txHash})\n`);
      return 0;
    }
    const v = r.vesting;
    stdout.write(
      [
        `provider ${provider}: epoch ${r.currentEpoch} (${r.epochLength} s each) ends ${when(r.epochEndsAt)}`,
        "",
        r.claimable.length === 0 ? "claimable: none" : `claimable: ${formatToken(r.claimableTotal)} ('bandmint rewards claim' claims them in one transaction)`,
        ...r.claimable.map((c) => `  epoch ${String(c.epoch).padEnd(8)} ${formatToken(c.amount)}`),
        "",
        `vesting over ${v.vestingEpochs} epochs: granted ${formatToken(v.granted)}, vested ${formatToken(v.vested)}, withdrawn ${formatToken(v.withdrawn)}, locked ${formatToken(v.locked)}`,
        `withdrawable: ${formatToken(v.withdrawable)}${v.withdrawable > 0n ? " ('bandmint rewards withdraw')" : ""}`,
        ...v.tranches.map((t) => `  from epoch ${String(t.startEpoch).padEnd(8)} ${formatToken(t.amount).padEnd(28)} all vested at epoch ${t.vestedEpoch} (${when(t.vestedAt)})`),
        "",
      ].join("\n"),
    );
    return 0;
  },
};
export default command;
