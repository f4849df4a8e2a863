// Gas of the Rewards / Vesting hot paths on the embedded EDR chain (osaka, optimizer 10,000 runs).
// Run: npx hardhat build && npx node bench/gas-rewards.ts
// The ledger is contracts/mocks/EpochLedgerMock.sol: its reads cost about what the TicketBroker's
// do (one packed slot for the provider's epochAccount, one for epochTotals).
import { network } from "hardhat";
import { keccak256, parseEther, stringToBytes, type Hash } from "viem";

const MINTER_ROLE = keccak256(stringToBytes("MINTER_ROLE"));
const VESTING_EPOCHS = 8n;

const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [admin, alice, bob] = await viem.getWalletClients();
if (!admin || !alice || !bob) throw new Error("need 3 accounts");

const ledger = await viem.deployContract("EpochLedgerMock", []);
const token = await viem.deployContract("BandToken", [
  "Bandmint",
  "BAND",
  parseEther("1000000000"),
  admin.account.address,
  [],
  [],
]);
const rewards = await viem.deployContract("Rewards", [
  ledger.address,
  token.address,
  { initialEmission: parseEther("1000"), decayPeriodEpochs: 100n, decayBps: 5_000n, kBps: 8_000n, vestingEpochs: VESTING_EPOCHS },
]);
await token.write.grantRole([MINTER_ROLE, rewards.address]);
const vesting = await viem.getContractAt("Vesting", await rewards.read.vesting());

const rows: [string, bigint, string][] = [];
async function gas(label: string, hash: Promise<Hash>, note = ""): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error(`${label} reverted`);
  rows.push([label, receipt.gasUsed, note]);
  return receipt.gasUsed;
}

// Both providers are paid in epochs 0..39.
for (let e = 0n; e < 40n; e++) {
  await ledger.write.addRedeemed([e, alice.account.address, parseEther("30"), parseEther("6")]);
  await ledger.write.addRedeemed([e, bob.account.address, parseEther("10"), parseEther("2")]);
}

await ledger.write.setCurrentEpoch([1n]);
await gas("claim: first (new provider, new epoch)", rewards.write.claim([0n], { account: alice.account }), "cold vesting account");
await gas("claim: 2nd provider, same epoch", rewards.write.claim([0n], { account: bob.account }), "new provider, epoch slot already written");
await ledger.write.setCurrentEpoch([2n]);
await gas("claim: subsequent (new tranche)", rewards.write.claim([1n], { account: alice.account }), "tranche push");
await ledger.write.setCurrentEpoch([3n]);
await rewards.write.claim([2n], { account: alice.account });
await gas("claim: subsequent (same claim epoch)", rewards.write.claim([1n], { account: bob.account }), "");
await gas("claim: merged into this epoch's tranche", rewards.write.claim([2n], { account: bob.account }), "tranche merge");

// claimMany: amortised per epoch.
await ledger.write.setCurrentEpoch([20n]);
for (const n of [1n, 5n, 10n]) {
  const start = n === 1n ? 3n : n === 5n ? 4n : 9n;
  const epochs = Array.from({ length: Number(n) }, (_, i) => start + BigInt(i));
  const g = await gas(`claimMany(${n} epochs)`, rewards.write.claimMany([epochs], { account: alice.account }));
  rows[rows.length - 1]![2] = `${g / n} per epoch`;
}

// Withdraw: bob holds 2 tranches, alice 4 (epochs 1, 2, 3, 20). Grow alice to V + 1 open tranches.
for (let c = 21n; c < 21n + VESTING_EPOCHS - 3n; c++) {
  await ledger.write.setCurrentEpoch([c]);
  await rewards.write.claim([c - 2n], { account: alice.account });
}
const current = 21n + VESTING_EPOCHS - 4n;
await ledger.write.setCurrentEpoch([current + 1n]);
const open = await vesting.read.openTranches([alice.account.address]);
await gas(`withdraw: ${open} open tranches`, vesting.write.withdraw({ account: alice.account }), "folds the fully vested ones");
await ledger.write.setCurrentEpoch([current + 2n]);
const open2 = await vesting.read.openTranches([alice.account.address]);
await gas(`withdraw: ${open2} open tranches, none fully vested`, vesting.write.withdraw({ account: alice.account }));
await ledger.write.setCurrentEpoch([100n]);
await gas("withdraw: 2 tranches, all fully vested (first withdraw)", vesting.write.withdraw({ account: bob.account }), "");

// The default deployment's vesting (720 epochs): a provider that claims every epoch holds one
// open tranche per epoch, and withdraw must not grow with them.
const LONG_VESTING = 720n;
const carol = (await viem.getWalletClients())[3];
if (!carol) throw new Error("need 4 accounts");
const ledger2 = await viem.deployContract("EpochLedgerMock", []);
const rewards2 = await viem.deployContract("Rewards", [
  ledger2.address,
  token.address,
  { initialEmission: parseEther("1000"), decayPeriodEpochs: 100n, decayBps: 5_000n, kBps: 8_000n, vestingEpochs: LONG_VESTING },
]);
await token.write.grantRole([MINTER_ROLE, rewards2.address]);
const vesting2 = await viem.getContractAt("Vesting", await rewards2.read.vesting());
const CLAIMS = 200n;
for (let e = 0n; e < CLAIMS; e++) {
  await ledger2.write.addRedeemed([e, carol.account.address, parseEther("40"), parseEther("8")]);
  await ledger2.write.setCurrentEpoch([e + 1n]);
  await rewards2.write.claim([e], { account: carol.account });
}
await ledger2.write.setCurrentEpoch([CLAIMS + 1n]);
const open3 = await vesting2.read.openTranches([carol.account.address]);
await gas(`withdraw: ${open3} open tranches (vestingEpochs ${LONG_VESTING})`, vesting2.write.withdraw({ account: carol.account }), "O(1) in open tranches");

const width = Math.max(...rows.map(([l]) => l.length));
console.log(`Rewards/Vesting gas (vestingEpochs = ${VESTING_EPOCHS}, EpochLedgerMock ledger)`);
for (const [label, g, note] of rows) console.log(`${label.padEnd(width)}  ${g.toString().padStart(8)}  ${note}`);
