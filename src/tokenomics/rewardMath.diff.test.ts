// Differential test: contracts/Rewards.sol + Vesting.sol on the embedded chain against
// rewardMath.ts, to the wei, for random schedules, random epochs and random per-epoch traffic.
// The ledger is contracts/mocks/EpochLedgerMock.sol (each provider's paid and burned set directly
// by the test; rewards are shared by burned value).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { network } from "hardhat";
import { keccak256, stringToBytes, type Address } from "viem";
import {
  emissionAt,
  epochBudget,
  mintableUnderCap,
  providerReward,
  vestedTotal,
  type RewardSchedule,
  type VestingTranche,
} from "./rewardMath.ts";

const MINTER_ROLE = keccak256(stringToBytes("MINTER_ROLE"));
const MAX_UINT256 = (1n << 256n) - 1n;
const RUNS = Number(process.env.DIFF_RUNS ?? 25);

const { viem } = await network.connect();
const wallets = await viem.getWalletClients();
const [admin, ...providerWallets] = wallets;
if (!admin || providerWallets.length < 3) throw new Error("need 4 accounts");
const providers = providerWallets.slice(0, 3);

const scheduleArb = fc.record({
  initialEmission: fc.bigInt({ min: 0n, max: 10n ** 27n }),
  decayPeriodEpochs: fc.bigInt({ min: 1n, max: 20n }),
  decayBps: fc.bigInt({ min: 0n, max: 10_000n }),
  kBps: fc.bigInt({ min: 0n, max: 9_999n }),
  cap: fc.bigInt({ min: 1n, max: 10n ** 28n }),
  vestingEpochs: fc.bigInt({ min: 0n, max: 6n }),
});

// What one provider's redemptions paid and burned: large amounts, or dust whose burn is 0 or 1 wei.
const redeemedArb = fc.oneof(
  fc.record({ paid: fc.bigInt({ min: 0n, max: 10n ** 25n }), burnBps: fc.bigInt({ min: 0n, max: 10_000n }) }),
  fc.record({ paid: fc.bigInt({ min: 0n, max: 10n }), burnBps: fc.constant(2_000n) }),
).map(({ paid, burnBps }) => ({ paid, burned: (paid * burnBps) / 10_000n }));

// Per epoch: what each of the 3 providers' redemptions paid and burned.
const trafficArb = fc.array(
  fc.record({
    epoch: fc.bigInt({ min: 0n, max: 200n }),
    redeemed: fc.tuple(redeemedArb, redeemedArb, redeemedArb),
  }),
  { minLength: 1, maxLength: 6 },
);

// Emission is a pure view: check many epochs per deployment, including the extremes.
const emissionEpochsArb = fc.array(
  fc.oneof(fc.bigInt({ min: 0n, max: 2_000n }), fc.bigInt({ min: 0n, max: MAX_UINT256 })),
  { minLength: 5, maxLength: 10 },
);

async function deploy(schedule: RewardSchedule, genesis: bigint) {
  const ledger = await viem.deployContract("EpochLedgerMock", []);
  const token = await viem.deployContract("BandToken", [
    "Bandmint",
    "BAND",
    schedule.cap,
    admin!.account.address,
    genesis > 0n ? [admin!.account.address] : [],
    genesis > 0n ? [genesis] : [],
  ]);
  const rewards = await viem.deployContract("Rewards", [
    ledger.address,
    token.address,
    {
      initialEmission: schedule.initialEmission,
      decayPeriodEpochs: schedule.decayPeriodEpochs,
      decayBps: schedule.decayBps,
      kBps: schedule.kBps,
      vestingEpochs: schedule.vestingEpochs,
    },
  ]);
  await token.write.grantRole([MINTER_ROLE, rewards.address]);
  const vesting = await viem.getContractAt("Vesting", await rewards.read.vesting());
  return { ledger, token, rewards, vesting };
}

test("Rewards and Vesting match rewardMath.ts to the wei", async () => {
  await fc.assert(
    fc.asyncProperty(
      scheduleArb,
      fc.bigInt({ min: 0n, max: 100n }),
      trafficArb,
      emissionEpochsArb,
      async (schedule, genesisPercent, traffic, emissionEpochs) => {
        // Genesis takes 0-100% of the cap, so some runs hit the cap clamp.
        const genesis = (schedule.cap * genesisPercent) / 100n;
        const { ledger, token, rewards, vesting } = await deploy(schedule, genesis);

        for (const epoch of emissionEpochs) {
          assert.equal(await rewards.read.emission([epoch]), emissionAt(schedule, epoch), `emission(${epoch})`);
        }

        // Merge traffic per epoch (the generator may repeat an epoch): burned per provider.
        const byEpoch = new Map<bigint, { burned: bigint[] }>();
        for (const t of traffic) {
          const prev = byEpoch.get(t.epoch) ?? { burned: [0n, 0n, 0n] };
          byEpoch.set(t.epoch, { burned: prev.burned.map((b, i) => b + t.redeemed[i]!.burned) });
          for (let i = 0; i < 3; i++) {
            const { paid, burned } = t.redeemed[i]!;
            if (paid > 0n) await ledger.write.addRedeemed([t.epoch, providers[i]!.account.address, paid, burned]);
          }
        }
        // Claims in two epochs (201 then 202, alternating rewarded epochs), so providers hold
        // two tranches and Vesting's running sums are checked against vestedTotal.
        let supply = genesis;
        const tranches: VestingTranche[][] = [[], [], []];
        const entries = [...byEpoch];
        for (const phase of [0, 1]) {
          const claimEpoch = 201n + BigInt(phase);
          await ledger.write.setCurrentEpoch([claimEpoch]);
          for (const [k, [epoch, { burned }]] of entries.entries()) {
            if (k % 2 !== phase) continue;
            const total = burned.reduce((a, b) => a + b, 0n);
            const budget = epochBudget(schedule, epoch, total);
            assert.equal(await rewards.read.budget([epoch]), budget, `budget(${epoch})`);
            for (let i = 0; i < 3; i++) {
              const provider = providers[i]!.account.address as Address;
              const reward = providerReward(budget, burned[i]!, total);
              assert.equal(await rewards.read.rewardOf([epoch, provider]), reward, `rewardOf(${epoch}, ${i})`);
              if (reward === 0n) continue;
              await rewards.write.claim([epoch], { account: providers[i]!.account });
              const minted = mintableUnderCap(reward, schedule.cap, supply);
              supply += minted;
              if (minted > 0n) tranches[i]!.push({ amount: minted, startEpoch: claimEpoch });
              const granted = tranches[i]!.reduce((a, t) => a + t.amount, 0n);
              assert.equal(await vesting.read.grantedOf([provider]), granted, `granted(${i}) after epoch ${epoch}`);
            }
          }
        }
        assert.equal(await token.read.totalSupply(), supply);

        const v = schedule.vestingEpochs;
        for (const later of [202n, 203n, 201n + v, 202n + v, 203n + v].filter((e) => e >= 202n).sort((a, b) => (a < b ? -1 : 1))) {
          await ledger.write.setCurrentEpoch([later]);
          for (let i = 0; i < 3; i++) {
            const provider = providers[i]!.account.address as Address;
            const expected = vestedTotal(tranches[i]!, later, v);
            assert.equal(await vesting.read.vestedOf([provider]), expected, `vested(${i}) at ${later}`);
          }
        }
      },
    ),
    { numRuns: RUNS },
  );
});
