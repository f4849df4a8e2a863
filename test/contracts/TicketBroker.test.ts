// TicketBroker from TypeScript: funding, unlock and withdraw, redemption of tickets signed by a
// viem wallet through src/protocol, every revert path, and the money split (recipient, burn,
// treasury) checked against balances and total supply.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { network } from "hardhat";
import { concat, getAddress, maxUint256, numberToHex, parseEther, parseSignature, size, slice, toHex, type Address, type Hex } from "viem";
import {
  MAX_WIN_PROB,
  SECP256K1_HALF_N,
  SECP256K1_N,
  decodeCompactBatch,
  domainSeparator,
  encodeCompactBatch,
  hashTicket,
  isWinningTicket,
  recipientRandHash,
  signTicketWith,
  ticketDomain,
  ticketStructHash,
  type RedeemItem,
  type Ticket,
} from "../../src/protocol/index.ts";
import { expectRevert, findEvent, increaseTime, latestTimestamp, receiptEvents, setNextBlockTimestamp, type DecodedEvent } from "./helpers.ts";

const BURN_BPS = 2000n;
const TREASURY_BPS = 500n;
const UNLOCK = 24n * 3600n;
const EPOCH = 3600n;
const MIN_STAKE = parseEther("1");
const FUND = parseEther("1000");
const SESSION = toHex(0xabcn, { size: 32 });

const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [adminW, treasuryW, providerW, provider2W, senderW, sender2W, strangerW] = await viem.getWalletClients();
if (!adminW || !treasuryW || !providerW || !provider2W || !senderW || !sender2W || !strangerW) throw new Error("need 7 accounts");
const treasury = getAddress(treasuryW.account.address);
const provider = getAddress(providerW.account.address);
const provider2 = getAddress(provider2W.account.address);
const sender = getAddress(senderW.account.address);
const sender2 = getAddress(sender2W.account.address);
const stranger = getAddress(strangerW.account.address);
const chainId = await publicClient.getChainId();

/** Splits a paid amount exactly as the broker does (per ticket, rounding down). */
function split(paid: bigint) {
  const burned = (paid * BURN_BPS) / 10_000n;
  const toTreasury = (paid * TREASURY_BPS) / 10_000n;
  return { burned, toTreasury, toRecipient: paid - burned - toTreasury };
}

async function deploy() {
  const funded = [providerW!, provider2W!, senderW!, sender2W!, strangerW!];
  const token = await viem.deployContract("BandToken", [
    "Bandmint",
    "BAND",
    parseEther("1000000"),
    getAddress(adminW!.account.address),
    funded.map((w) => w.account.address),
    funded.map(() => FUND),
  ]);
  const registry = await viem.deployContract("ProviderRegistry", [token.address, MIN_STAKE, 7n * 24n * 3600n]);
  const broker = await viem.deployContract("TicketBroker", [
    token.address,
    registry.address,
    treasury,
    Number(BURN_BPS),
    Number(TREASURY_BPS),
    UNLOCK,
    EPOCH,
    0n,
  ]);
  const deployedAt = await latestTimestamp(publicClient);
  for (const w of funded) {
    await token.write.approve([broker.address, maxUint256], { account: w.account });
    await token.write.approve([registry.address, maxUint256], { account: w.account });
  }
  const domain = ticketDomain(chainId, broker.address);
  return { token, registry, broker, domain, deployedAt };
}

type Fixture = Awaited<ReturnType<typeof deploy>>;

let randCounter = 1000n;

/** A ticket from `from` to `to` with a fresh recipientRand (or `rand`); certain to win unless winProb says otherwise. */
async function makeTicket(
  f: Fixture,
  overrides: Partial<Ticket> & { nonce: bigint; rand?: bigint },
  signerW = senderW!,
): Promise<{ ticket: Ticket; sig: Hex; rand: bigint }> {
  const { nonce, rand = ++randCounter, ...rest } = overrides;
  const ticket: Ticket = {
    recipient: provider,
    sender,
    faceValue: parseEther("1"),
    winProb: MAX_WIN_PROB,
    senderNonce: nonce,
    recipientRandHash: recipientRandHash(rand),
    expiry: (await latestTimestamp(publicClient)) + 3600n,
    sessionId: SESSION,
    cumulativeBytes: nonce * 1_000_000n,
    ...rest,
  };
  const sig = await signTicketWith(signerW, { ticket, domain: f.domain });
  return { ticket, sig, rand };
}

function eventNames(events: DecodedEvent[]): string[] {
  return events.map((e) => e.eventName);
}

describe("TicketBroker", () => {
  describe("constructor and views", () => {
    it("exposes its parameters and the EIP-712 domain of PROTOCOL.md", async () => {
      const f = await deploy();
      assert.equal(getAddress(await f.broker.read.token()), getAddress(f.token.address));
      assert.equal(getAddress(await f.broker.read.registry()), getAddress(f.registry.address));
      assert.equal(getAddress(await f.broker.read.treasury()), treasury);
      assert.equal(await f.broker.read.burnBps(), Number(BURN_BPS));
      assert.equal(await f.broker.read.treasuryBps(), Number(TREASURY_BPS));
      assert.equal(await f.broker.read.unlockPeriod(), UNLOCK);
      assert.equal(await f.broker.read.epochLength(), EPOCH);
      assert.equal(await f.broker.read.domainSeparator(), domainSeparator(f.domain));
      // genesisTime 0 in the constructor means the deployment block's time: epoch 0 now.
      assert.equal(await f.broker.read.genesisTime(), f.deployedAt);
      assert.equal(await f.broker.read.currentEpoch(), 0n);
      await increaseTime(publicClient, EPOCH);
      assert.equal(await f.broker.read.currentEpoch(), 1n);
    });

    it("hashes and digests tickets exactly as src/protocol does", async () => {
      const f = await deploy();
      const { ticket } = await makeTicket(f, { nonce: 7n, faceValue: 123n, winProb: 2n ** 200n });
      assert.equal(await f.broker.read.hashTicket([ticket]), ticketStructHash(ticket));
      assert.equal(await f.broker.read.ticketDigest([ticket]), hashTicket(ticket, f.domain));
    });

    it("rejects bad constructor arguments with InvalidFeeShares, ZeroAddress and ZeroEpochLength", async () => {
      const f = await deploy();
      const args = (over: Partial<{ burn: number; treasury: number; registry: Address; epoch: bigint }>) =>
        [f.token.address, over.registry ?? f.registry.address, treasury, over.burn ?? 2000, over.treasury ?? 500, UNLOCK, over.epoch ?? EPOCH, 0n] as const;
      const abi = f.broker.abi;
      await expectRevert(viem.deployContract("TicketBroker", args({ burn: 6000, treasury: 4001 })), "InvalidFeeShares", {
        abi,
        args: [6000, 4001],
      });
      await expectRevert(viem.deployContract("TicketBroker", args({ registry: "0x0000000000000000000000000000000000000000" })), "ZeroAddress", { abi });
      await expectRevert(viem.deployContract("TicketBroker", args({ epoch: 0n })), "ZeroEpochLength", { abi });
      // 100% fees together are allowed.
      await viem.deployContract("TicketBroker", args({ burn: 10_000, treasury: 0 }));
    });
  });

  describe("funding", () => {
    it("fundDeposit, fundReserve and fundDepositAndReserve credit the sender and pull the tokens", async () => {
      const f = await deploy();
      let hash = await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, f.broker.abi), "DepositFunded"), {
        sender,
        amount: parseEther("10"),
        deposit: parseEther("10"),
      });
      hash = await f.broker.write.fundReserve([parseEther("3")], { account: senderW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, f.broker.abi), "ReserveFunded"), {
        sender,
        amount: parseEther("3"),
        reserve: parseEther("3"),
      });
      hash = await f.broker.write.fundDepositAndReserve([parseEther("1"), parseEther("2")], { account: senderW.account });
      const events = await receiptEvents(publicClient, hash, [...f.broker.abi, ...f.token.abi]);
      assert.deepEqual(findEvent(events, "DepositFunded"), { sender, amount: parseEther("1"), deposit: parseEther("11") });
      assert.deepEqual(findEvent(events, "ReserveFunded"), { sender, amount: parseEther("2"), reserve: parseEther("5") });
      assert.deepEqual(findEvent(events, "Transfer"), { from: sender, to: getAddress(f.broker.address), value: parseEther("3") });
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("11"), parseEther("5"), 0n]);
      assert.equal(await f.token.read.balanceOf([f.broker.address]), parseEther("16"));
      assert.equal(await f.token.read.balanceOf([sender]), FUND - parseEther("16"));
    });

    it("reverts with ZeroAmount, and bubbles the token's allowance error", async () => {
      const f = await deploy();
      await expectRevert(f.broker.write.fundDeposit([0n], { account: senderW.account }), "ZeroAmount");
      await expectRevert(f.broker.write.fundDepositAndReserve([0n, 0n], { account: senderW.account }), "ZeroAmount");
      await f.token.write.approve([f.broker.address, 0n], { account: senderW.account });
      await expectRevert(f.broker.write.fundDeposit([1n], { account: senderW.account }), "ERC20InsufficientAllowance", { abi: f.token.abi });
    });

    it("fundDepositAndReserveWithPermit funds in one transaction without a prior approval", async () => {
      const f = await deploy();
      await f.token.write.approve([f.broker.address, 0n], { account: senderW.account });
      const deadline = (await latestTimestamp(publicClient)) + 3600n;
      const signature = await senderW.signTypedData({
        domain: { name: "Bandmint", version: "1", chainId, verifyingContract: f.token.address },
        types: {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        primaryType: "Permit",
        message: { owner: sender, spender: f.broker.address, value: parseEther("7"), nonce: 0n, deadline },
      });
      const { r, s, v } = parseSignature(signature);
      await f.broker.write.fundDepositAndReserveWithPermit([parseEther("5"), parseEther("2"), deadline, Number(v), r, s], {
        account: senderW.account,
      });
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("5"), parseEther("2"), 0n]);
      assert.equal(await f.token.read.nonces([sender]), 1n);
      // The same permit again fails inside (nonce used) and is ignored; with no allowance left the
      // transfer reverts.
      await expectRevert(
        f.broker.write.fundDepositAndReserveWithPermit([parseEther("5"), parseEther("2"), deadline, Number(v), r, s], {
          account: senderW.account,
        }),
        "ERC20InsufficientAllowance",
        { abi: f.token.abi },
      );
    });
  });

  describe("unlock, cancelUnlock, withdraw", () => {
    it("withdraw reverts with UnlockPending before the period and pays deposit + reserve after", async () => {
      const f = await deploy();
      await f.broker.write.fundDepositAndReserve([parseEther("10"), parseEther("4")], { account: senderW.account });
      const hash = await f.broker.write.unlock({ account: senderW.account });
      const withdrawTime = (await latestTimestamp(publicClient)) + UNLOCK;
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, f.broker.abi), "UnlockStarted"), { sender, withdrawTime });
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("10"), parseEther("4"), withdrawTime]);

      const [who, when, now] = await expectRevert(f.broker.write.withdraw({ account: senderW.account }), "UnlockPending");
      assert.equal(who, sender);
      assert.equal(when, withdrawTime);
      assert.ok((now as bigint) < withdrawTime);
      await expectRevert(f.broker.write.unlock({ account: senderW.account }), "AlreadyUnlocking", { args: [sender, withdrawTime] });

      await increaseTime(publicClient, UNLOCK);
      const before = await f.token.read.balanceOf([sender]);
      const wHash = await f.broker.write.withdraw({ account: senderW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, wHash, f.broker.abi), "Withdrawn"), {
        sender,
        deposit: parseEther("10"),
        reserve: parseEther("4"),
      });
      assert.equal(await f.token.read.balanceOf([sender]), before + parseEther("14"));
      assert.equal(await f.token.read.balanceOf([f.broker.address]), 0n);
      assert.deepEqual(await f.broker.read.getSender([sender]), [0n, 0n, 0n]);
      await expectRevert(f.broker.write.withdraw({ account: senderW.account }), "NotUnlocking", { args: [sender] });
    });

    it("cancelUnlock stops the unlock; without one it reverts with NotUnlocking", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("1")], { account: senderW.account });
      await expectRevert(f.broker.write.cancelUnlock({ account: senderW.account }), "NotUnlocking", { args: [sender] });
      await expectRevert(f.broker.write.withdraw({ account: senderW.account }), "NotUnlocking", { args: [sender] });
      await f.broker.write.unlock({ account: senderW.account });
      const hash = await f.broker.write.cancelUnlock({ account: senderW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, f.broker.abi), "UnlockCancelled"), { sender });
      await increaseTime(publicClient, UNLOCK + 1n);
      await expectRevert(f.broker.write.withdraw({ account: senderW.account }), "NotUnlocking");
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("1"), 0n, 0n]);
    });
  });

  describe("redeemTicket", () => {
    it("with winProb = 2^256-1 pays faceValue minus burn and treasury shares, burns the burn share", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const face = parseEther("1.234567890123456789");
      const { ticket, sig, rand } = await makeTicket(f, { nonce: 1n, faceValue: face });
      const { burned, toTreasury, toRecipient } = split(face);
      const supply = await f.token.read.totalSupply();
      const before = await f.token.read.balanceOf([provider]);

      const hash = await f.broker.write.redeemTicket([ticket, sig, rand], { account: providerW.account });
      const events = await receiptEvents(publicClient, hash, [...f.broker.abi, ...f.token.abi]);

      assert.equal(await f.token.read.balanceOf([provider]), before + toRecipient);
      assert.equal(await f.token.read.totalSupply(), supply - burned);
      assert.equal(await f.broker.read.treasuryAccrued(), toTreasury);
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("10") - face, 0n, 0n]);
      assert.equal(await f.broker.read.lastNonce([sender, provider]), 1n);
      assert.deepEqual(findEvent(events, "TicketRedeemed"), { ticketHash: ticketStructHash(ticket), sender, nonce: 1n, paid: face });
      const epoch = await f.broker.read.currentEpoch();
      assert.deepEqual(findEvent(events, "TicketsRedeemed"), { recipient: provider, epoch, paid: face, burned, treasury: toTreasury });
      assert.equal(await f.broker.read.paidInEpoch([epoch, provider]), face);
      assert.deepEqual(await f.broker.read.epochAccount([epoch, provider]), [face, burned]);
      assert.deepEqual(await f.broker.read.epochTotals([epoch]), [face, burned]);
      // The broker's balance keeps exactly the remaining deposit plus the unflushed treasury share.
      assert.equal(await f.token.read.balanceOf([f.broker.address]), parseEther("10") - face + toTreasury);

      const fHash = await f.broker.write.flushTreasury({ account: strangerW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, fHash, f.broker.abi), "TreasuryFlushed"), { treasury, amount: toTreasury });
      assert.equal(await f.token.read.balanceOf([treasury]), toTreasury);
      assert.equal(await f.broker.read.treasuryAccrued(), 0n);
    });

    it("books each redemption in the epoch of its block, and flushTreasury with nothing accrued moves nothing", async () => {
      const f = await deploy();
      const empty = await f.broker.write.flushTreasury({ account: strangerW.account });
      const flushEvents = await receiptEvents(publicClient, empty, [...f.broker.abi, ...f.token.abi]);
      assert.deepEqual(eventNames(flushEvents), ["TreasuryFlushed"]);
      assert.equal(await f.token.read.balanceOf([treasury]), 0n);

      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const t1 = await makeTicket(f, { nonce: 1n, faceValue: parseEther("1") });
      const t2 = await makeTicket(f, { nonce: 2n, faceValue: parseEther("2"), expiry: 2n ** 40n });
      await f.broker.write.redeemTicket([t1.ticket, t1.sig, t1.rand], { account: providerW.account });
      await increaseTime(publicClient, EPOCH);
      await f.broker.write.redeemTicket([t2.ticket, t2.sig, t2.rand], { account: providerW.account });
      assert.equal(await f.broker.read.paidInEpoch([0n, provider]), parseEther("1"));
      assert.equal(await f.broker.read.paidInEpoch([1n, provider]), parseEther("2"));
      assert.deepEqual(await f.broker.read.epochTotals([0n]), [parseEther("1"), split(parseEther("1")).burned]);
      assert.deepEqual(await f.broker.read.epochTotals([1n]), [parseEther("2"), split(parseEther("2")).burned]);
      assert.equal(await f.broker.read.paidInEpoch([1n, provider2]), 0n);
      assert.deepEqual(await f.broker.read.epochAccount([1n, provider]), [parseEther("2"), split(parseEther("2")).burned]);
      assert.deepEqual(await f.broker.read.epochAccount([1n, provider2]), [0n, 0n]);
    });

    it("keeps tickets redeemable while the sender is unlocking, until it withdraws", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("3")], { account: senderW.account });
      const t1 = await makeTicket(f, { nonce: 1n, expiry: 2n ** 40n });
      const t2 = await makeTicket(f, { nonce: 2n, expiry: 2n ** 40n });
      await f.broker.write.unlock({ account: senderW.account });
      await f.broker.write.redeemTicket([t1.ticket, t1.sig, t1.rand], { account: providerW.account });
      await increaseTime(publicClient, UNLOCK);
      await f.broker.write.withdraw({ account: senderW.account });
      await expectRevert(f.broker.write.redeemTicket([t2.ticket, t2.sig, t2.rand], { account: providerW.account }), "SenderFundsExhausted");
    });

    it("agrees with src/protocol's win check on tickets with winProb = 1/2", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("100")], { account: senderW.account });
      let wins = 0;
      let losses = 0;
      for (let nonce = 1n; nonce <= 8n; nonce++) {
        // A fixed expiry keeps the tickets, and so the draws, the same on every run.
        const { ticket, sig, rand } = await makeTicket(f, { nonce, winProb: 2n ** 255n, expiry: 2n ** 40n });
        const call = f.broker.write.redeemTicket([ticket, sig, rand], { account: providerW.account });
        if (isWinningTicket(sig, rand, ticket.winProb)) {
          await call;
          wins++;
          assert.equal(await f.broker.read.lastNonce([sender, provider]), nonce);
        } else {
          await expectRevert(call, "TicketNotWinning", { args: [ticketStructHash(ticket), 2n ** 255n] });
          losses++;
        }
      }
      assert.equal(await f.broker.read.paidInEpoch([await f.broker.read.currentEpoch(), provider]), BigInt(wins) * parseEther("1"));
      assert.equal(wins + losses, 8);
      assert.ok(wins > 0 && losses > 0, `both outcomes exercised (wins ${wins}, losses ${losses})`);
    });

    it("reverts with InvalidSigner for a ticket signed by someone else than its sender", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const { ticket, sig, rand } = await makeTicket(f, { nonce: 1n }, strangerW);
      await expectRevert(f.broker.write.redeemTicket([ticket, sig, rand], { account: providerW.account }), "InvalidSigner", {
        args: [ticketStructHash(ticket), stranger, sender],
      });
      // A field changed after signing recovers some other address too.
      const good = await makeTicket(f, { nonce: 1n });
      const tampered = { ...good.ticket, faceValue: good.ticket.faceValue * 2n };
      const [, signer] = await expectRevert(
        f.broker.write.redeemTicket([tampered, good.sig, good.rand], { account: providerW.account }),
        "InvalidSigner",
      );
      assert.notEqual(signer, sender);
    });

    it("rejects non-canonical signatures: high s, v in {0,1}, 64-byte compact", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const { ticket, sig, rand } = await makeTicket(f, { nonce: 1n });
      const hash = ticketStructHash(ticket);
      const { r, s, v } = parseSignature(sig);
      const highS = concat([r, numberToHex(SECP256K1_N - BigInt(s), { size: 32 }), numberToHex(v === 27n ? 28 : 27, { size: 1 })]);
      await expectRevert(f.broker.write.redeemTicket([ticket, highS, rand], { account: providerW.account }), "InvalidSignature", { args: [hash] });
      const v01 = concat([slice(sig, 0, 64), numberToHex(Number(v) - 27, { size: 1 })]);
      await expectRevert(f.broker.write.redeemTicket([ticket, v01, rand], { account: providerW.account }), "InvalidSignature", { args: [hash] });
      const compact = slice(sig, 0, 64);
      assert.equal(size(compact), 64);
      await expectRevert(f.broker.write.redeemTicket([ticket, compact, rand], { account: providerW.account }), "InvalidSignatureLength", {
        args: [hash, 64n],
      });
      // The canonical one still redeems.
      await f.broker.write.redeemTicket([ticket, sig, rand], { account: providerW.account });
    });

    it("reverts with NotTicketRecipient when someone else redeems", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const { ticket, sig, rand } = await makeTicket(f, { nonce: 1n });
      await expectRevert(f.broker.write.redeemTicket([ticket, sig, rand], { account: provider2W.account }), "NotTicketRecipient", {
        args: [ticketStructHash(ticket), provider, provider2],
      });
    });

    it("reverts with InvalidRecipientRand for a wrong preimage", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const { ticket, sig, rand } = await makeTicket(f, { nonce: 1n });
      await expectRevert(f.broker.write.redeemTicket([ticket, sig, rand + 1n], { account: providerW.account }), "InvalidRecipientRand", {
        args: [ticketStructHash(ticket), rand + 1n, ticket.recipientRandHash],
      });
    });

    it("reverts with TicketNotWinning for winProb = 0", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const { ticket, sig, rand } = await makeTicket(f, { nonce: 1n, winProb: 0n });
      await expectRevert(f.broker.write.redeemTicket([ticket, sig, rand], { account: providerW.account }), "TicketNotWinning", {
        args: [ticketStructHash(ticket), 0n],
      });
    });

    it("redeems at the expiry second and reverts with TicketExpired after it", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const now = await latestTimestamp(publicClient);
      const late = await makeTicket(f, { nonce: 2n, expiry: now + 100n });
      const onTime = await makeTicket(f, { nonce: 1n, expiry: now + 100n });
      // The redeeming block is at the expiry second exactly (a wall-clock second passing on a
      // loaded machine must not move it past); the next one is after it.
      await setNextBlockTimestamp(publicClient, now + 100n);
      await f.broker.write.redeemTicket([onTime.ticket, onTime.sig, onTime.rand], { account: providerW.account });
      const [hash, expiry, at] = await expectRevert(
        f.broker.write.redeemTicket([late.ticket, late.sig, late.rand], { account: providerW.account }),
        "TicketExpired",
      );
      assert.equal(hash, ticketStructHash(late.ticket));
      assert.equal(expiry, now + 100n);
      assert.ok((at as bigint) > now + 100n);
    });

    it("reverts with TicketNonceUsed on replay and on a lower nonce", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const t5 = await makeTicket(f, { nonce: 5n });
      const t3 = await makeTicket(f, { nonce: 3n });
      await f.broker.write.redeemTicket([t5.ticket, t5.sig, t5.rand], { account: providerW.account });
      await expectRevert(f.broker.write.redeemTicket([t5.ticket, t5.sig, t5.rand], { account: providerW.account }), "TicketNonceUsed", {
        args: [sender, provider, 5n, 5n],
      });
      await expectRevert(f.broker.write.redeemTicket([t3.ticket, t3.sig, t3.rand], { account: providerW.account }), "TicketNonceUsed", {
        args: [sender, provider, 3n, 5n],
      });
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("9"), 0n, 0n]);
    });

    it("pays partly from the deposit, then from the reserve within R/N, then reverts with SenderFundsExhausted", async () => {
      const f = await deploy();
      // Two active providers registered before the freeze: N = 2.
      await f.registry.write.register([{ endpoint: "https://p1", pricePerGiB: 1n, capacityMbps: 1n, region: "", services: 1 }, MIN_STAKE], {
        account: providerW.account,
      });
      await f.registry.write.register([{ endpoint: "https://p2", pricePerGiB: 1n, capacityMbps: 1n, region: "", services: 1 }, MIN_STAKE], {
        account: provider2W.account,
      });
      const deposit = parseEther("1");
      const reserve = parseEther("4");
      await f.broker.write.fundDepositAndReserve([deposit, reserve], { account: senderW.account });
      await increaseTime(publicClient, 10);

      const face = parseEther("2");
      const t1 = await makeTicket(f, { nonce: 1n, faceValue: face });
      const supply = await f.token.read.totalSupply();
      const before = await f.token.read.balanceOf([provider]);
      const hash = await f.broker.write.redeemTicket([t1.ticket, t1.sig, t1.rand], { account: providerW.account });
      const events = await receiptEvents(publicClient, hash, f.broker.abi);
      // deposit 1 + reserve draw 1 (<= allowance 4/2 = 2).
      assert.deepEqual(findEvent(events, "ReserveFrozen"), { sender, reserve, providers: 2n, allowancePerRecipient: reserve / 2n });
      assert.deepEqual(findEvent(events, "ReserveDrawn"), { sender, recipient: provider, amount: parseEther("1") });
      assert.equal(findEvent(events, "TicketRedeemed").paid, face);
      assert.equal(await f.token.read.balanceOf([provider]), before + split(face).toRecipient);
      assert.equal(await f.token.read.totalSupply(), supply - split(face).burned);
      assert.deepEqual(await f.broker.read.getSender([sender]), [0n, reserve - parseEther("1"), 0n]);
      assert.equal(await f.broker.read.claimableReserve([sender, provider]), parseEther("1"));
      const freezeTime = await latestTimestamp(publicClient);
      assert.deepEqual(await f.broker.read.getReserveFreeze([sender]), [freezeTime, reserve, 2n, reserve / 2n]);

      // Second ticket: only the rest of this provider's allowance (1) is paid.
      const t2 = await makeTicket(f, { nonce: 2n, faceValue: face });
      const h2 = await f.broker.write.redeemTicket([t2.ticket, t2.sig, t2.rand], { account: providerW.account });
      assert.equal(findEvent(await receiptEvents(publicClient, h2, f.broker.abi), "TicketRedeemed").paid, parseEther("1"));
      assert.equal(await f.broker.read.reserveClaimed([sender, provider]), reserve / 2n);

      // Third: the allowance is used up although reserve remains for the other provider.
      const t3 = await makeTicket(f, { nonce: 3n, faceValue: face });
      await expectRevert(f.broker.write.redeemTicket([t3.ticket, t3.sig, t3.rand], { account: providerW.account }), "SenderFundsExhausted", {
        args: [sender, ticketStructHash(t3.ticket)],
      });
      assert.deepEqual(await f.broker.read.getSender([sender]), [0n, parseEther("2"), 0n]);
      // The ticket stays redeemable after a refill.
      await f.broker.write.fundDeposit([face], { account: senderW.account });
      await f.broker.write.redeemTicket([t3.ticket, t3.sig, t3.rand], { account: providerW.account });
      assert.equal(await f.broker.read.lastNonce([sender, provider]), 3n);
    });

    it("does not let a provider registered after the freeze draw from the reserve", async () => {
      const f = await deploy();
      const listing = { endpoint: "https://p", pricePerGiB: 1n, capacityMbps: 1n, region: "", services: 1 };
      await f.registry.write.register([listing, MIN_STAKE], { account: providerW.account });
      await f.broker.write.fundReserve([parseEther("4")], { account: senderW.account });
      await increaseTime(publicClient, 10);
      const a = await makeTicket(f, { nonce: 1n, faceValue: parseEther("1") });
      await f.broker.write.redeemTicket([a.ticket, a.sig, a.rand], { account: providerW.account }); // freezes with N = 1
      await f.registry.write.register([listing, MIN_STAKE], { account: provider2W.account });
      await increaseTime(publicClient, 10);
      const b = await makeTicket(f, { nonce: 1n, recipient: provider2 });
      assert.equal(await f.broker.read.claimableReserve([sender, provider2]), 0n);
      await expectRevert(f.broker.write.redeemTicket([b.ticket, b.sig, b.rand], { account: provider2W.account }), "SenderFundsExhausted", {
        args: [sender, ticketStructHash(b.ticket)],
      });
      assert.deepEqual(await f.broker.read.getSender([sender]), [0n, parseEther("3"), 0n]);
    });

    it("reverts with SenderFundsExhausted for a sender without funds and for an unregistered recipient", async () => {
      const f = await deploy();
      const t1 = await makeTicket(f, { nonce: 1n });
      await expectRevert(f.broker.write.redeemTicket([t1.ticket, t1.sig, t1.rand], { account: providerW.account }), "SenderFundsExhausted", {
        args: [sender, ticketStructHash(t1.ticket)],
      });
      // A reserve exists, but the recipient is not an active provider: it may not draw.
      await f.broker.write.fundReserve([parseEther("5")], { account: senderW.account });
      await expectRevert(f.broker.write.redeemTicket([t1.ticket, t1.sig, t1.rand], { account: providerW.account }), "SenderFundsExhausted");
      assert.deepEqual(await f.broker.read.getSender([sender]), [0n, parseEther("5"), 0n]);
    });
  });

  describe("redeemTickets (batch)", () => {
    it("redeems tickets of two senders in one call; totals, split and ledger add up", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("20")], { account: senderW.account });
      await f.broker.write.fundDeposit([parseEther("20")], { account: sender2W.account });
      const faces = [parseEther("1"), parseEther("0.3"), 777n, parseEther("2.5"), 3n];
      const tickets = [
        await makeTicket(f, { nonce: 1n, faceValue: faces[0]! }),
        await makeTicket(f, { nonce: 2n, faceValue: faces[1]! }),
        await makeTicket(f, { nonce: 1n, faceValue: faces[2]!, sender: sender2 }, sender2W),
        await makeTicket(f, { nonce: 9n, faceValue: faces[3]! }),
        await makeTicket(f, { nonce: 4n, faceValue: faces[4]!, sender: sender2 }, sender2W),
      ];
      const supply = await f.token.read.totalSupply();
      const before = await f.token.read.balanceOf([provider]);
      const hash = await f.broker.write.redeemTickets(
        [tickets.map((t) => t.ticket), tickets.map((t) => t.sig), tickets.map((t) => t.rand)],
        { account: providerW.account },
      );
      const events = await receiptEvents(publicClient, hash, f.broker.abi);
      assert.deepEqual(
        eventNames(events).filter((n) => n === "TicketRedeemed").length,
        5,
      );
      const total = faces.reduce((a, b) => a + b, 0n);
      // The broker rounds each ticket's shares down separately, then sums.
      const burned = faces.reduce((a, x) => a + split(x).burned, 0n);
      const toTreasury = faces.reduce((a, x) => a + split(x).toTreasury, 0n);
      const epoch = await f.broker.read.currentEpoch();
      assert.deepEqual(findEvent(events, "TicketsRedeemed"), { recipient: provider, epoch, paid: total, burned, treasury: toTreasury });
      assert.equal(await f.token.read.balanceOf([provider]), before + total - burned - toTreasury);
      assert.equal(await f.token.read.totalSupply(), supply - burned);
      assert.equal(await f.broker.read.treasuryAccrued(), toTreasury);
      assert.equal(await f.broker.read.lastNonce([sender, provider]), 9n);
      assert.equal(await f.broker.read.lastNonce([sender2, provider]), 4n);
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("20") - faces[0]! - faces[1]! - faces[3]!, 0n, 0n]);
      assert.deepEqual(await f.broker.read.getSender([sender2]), [parseEther("20") - faces[2]! - faces[4]!, 0n, 0n]);
      assert.deepEqual(await f.broker.read.epochTotals([epoch]), [total, burned]);
      // What Rewards shares by: the recipient's burned is the sum of the per-ticket floors.
      assert.deepEqual(await f.broker.read.epochAccount([epoch, provider]), [total, burned]);
    });

    it("reverts the whole batch on one bad ticket, and on out-of-order nonces", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("20")], { account: senderW.account });
      const a = await makeTicket(f, { nonce: 1n });
      const b = await makeTicket(f, { nonce: 2n, winProb: 0n });
      await expectRevert(
        f.broker.write.redeemTickets([[a.ticket, b.ticket], [a.sig, b.sig], [a.rand, b.rand]], { account: providerW.account }),
        "TicketNotWinning",
      );
      assert.equal(await f.broker.read.lastNonce([sender, provider]), 0n);
      assert.deepEqual(await f.broker.read.getSender([sender]), [parseEther("20"), 0n, 0n]);

      const c = await makeTicket(f, { nonce: 3n });
      await expectRevert(
        f.broker.write.redeemTickets([[c.ticket, a.ticket], [c.sig, a.sig], [c.rand, a.rand]], { account: providerW.account }),
        "TicketNonceUsed",
        { args: [sender, provider, 1n, 3n] },
      );
      // The same ticket twice in one batch is a replay too.
      await expectRevert(
        f.broker.write.redeemTickets([[a.ticket, a.ticket], [a.sig, a.sig], [a.rand, a.rand]], { account: providerW.account }),
        "TicketNonceUsed",
        { args: [sender, provider, 1n, 1n] },
      );
    });

    it("reverts with EmptyBatch and LengthMismatch", async () => {
      const f = await deploy();
      await expectRevert(f.broker.write.redeemTickets([[], [], []], { account: providerW.account }), "EmptyBatch");
      const a = await makeTicket(f, { nonce: 1n });
      await expectRevert(
        f.broker.write.redeemTickets([[a.ticket], [a.sig, a.sig], [a.rand]], { account: providerW.account }),
        "LengthMismatch",
        { args: [1n, 2n, 1n] },
      );
      await expectRevert(
        f.broker.write.redeemTickets([[a.ticket], [a.sig], []], { account: providerW.account }),
        "LengthMismatch",
        { args: [1n, 1n, 0n] },
      );
    });

    it("pays a batch partly when the sender's deposit runs out mid-batch", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("1.5")], { account: senderW.account });
      const a = await makeTicket(f, { nonce: 1n, faceValue: parseEther("1") });
      const b = await makeTicket(f, { nonce: 2n, faceValue: parseEther("1") });
      const hash = await f.broker.write.redeemTickets([[a.ticket, b.ticket], [a.sig, b.sig], [a.rand, b.rand]], { account: providerW.account });
      const events = await receiptEvents(publicClient, hash, f.broker.abi);
      assert.deepEqual(
        events.filter((e) => e.eventName === "TicketRedeemed").map((e) => e.args.paid),
        [parseEther("1"), parseEther("0.5")],
      );
      assert.equal(findEvent(events, "TicketsRedeemed").paid, parseEther("1.5"));
      assert.deepEqual(await f.broker.read.getSender([sender]), [0n, 0n, 0n]);
    });
  });

  describe("redeemTicketsCompact", () => {
    const item = (t: { ticket: Ticket; sig: Hex; rand: bigint }): RedeemItem => ({ ticket: t.ticket, signature: t.sig, recipientRand: t.rand });

    /** Everything a redemption changes, as the tests compare it between the two paths. */
    async function state(f: Fixture) {
      const epoch = await f.broker.read.currentEpoch();
      return {
        senders: [await f.broker.read.getSender([sender]), await f.broker.read.getSender([sender2])],
        nonces: [await f.broker.read.lastNonce([sender, provider]), await f.broker.read.lastNonce([sender2, provider])],
        provider: await f.token.read.balanceOf([provider]),
        supply: await f.token.read.totalSupply(),
        treasury: await f.broker.read.treasuryAccrued(),
        account: await f.broker.read.epochAccount([epoch, provider]),
        totals: await f.broker.read.epochTotals([epoch]),
      };
    }

    it("redeems a batch encoded by src/protocol exactly as redeemTickets does, with one event per group", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("20")], { account: senderW.account });
      await f.broker.write.fundDeposit([parseEther("1.25")], { account: sender2W.account });
      const tickets = [
        await makeTicket(f, { nonce: 1n, rand: 7n }),
        await makeTicket(f, { nonce: 4n, rand: 7n }),
        await makeTicket(f, { nonce: 1n, rand: 8n, sender: sender2 }, sender2W),
        await makeTicket(f, { nonce: 2n, rand: 8n, sender: sender2 }, sender2W), // paid 0.25 of 1
      ];
      const request = (m: string) => publicClient.request({ method: m as never, params: [] as never }) as Promise<Hex>;
      const snapshot = await request("evm_snapshot");
      await f.broker.write.redeemTickets([tickets.map((t) => t.ticket), tickets.map((t) => t.sig), tickets.map((t) => t.rand)], { account: providerW.account });
      const full = await state(f);
      await publicClient.request({ method: "evm_revert" as never, params: [snapshot] as never });

      const batch = encodeCompactBatch(tickets.map(item));
      assert.equal(size(batch), 2 * 149 + 4 * 88);
      const hash = await f.broker.write.redeemTicketsCompact([batch], { account: providerW.account });
      assert.deepEqual(await state(f), full);
      const groups = (await receiptEvents(publicClient, hash, f.broker.abi)).filter((e) => e.eventName === "TicketGroupRedeemed");
      assert.deepEqual(
        groups.map((g) => g.args),
        [
          { sender, faceValue: parseEther("1"), lastPaid: parseEther("1"), ticketHashes: [ticketStructHash(tickets[0]!.ticket), ticketStructHash(tickets[1]!.ticket)] },
          { sender: sender2, faceValue: parseEther("1"), lastPaid: parseEther("0.25"), ticketHashes: [ticketStructHash(tickets[2]!.ticket), ticketStructHash(tickets[3]!.ticket)] },
        ],
      );
    });

    it("reverts with the broker's errors: EmptyBatch, MalformedBatch, and InvalidSigner for a changed byte", async () => {
      const f = await deploy();
      await f.broker.write.fundDeposit([parseEther("10")], { account: senderW.account });
      const t = await makeTicket(f, { nonce: 1n });
      const batch = encodeCompactBatch([item(t)]);
      await expectRevert(f.broker.write.redeemTicketsCompact(["0x"], { account: providerW.account }), "EmptyBatch");
      await expectRevert(f.broker.write.redeemTicketsCompact([slice(batch, 0, 200)], { account: providerW.account }), "MalformedBatch", { args: [0n, 200n] });
      await expectRevert(f.broker.write.redeemTicketsCompact([concat([batch, "0x00"])], { account: providerW.account }), "MalformedBatch", {
        args: [BigInt(size(batch)), BigInt(size(batch) + 1)],
      });
      // cumulativeBytes is the batch's last 8 bytes: a provider claiming more bytes than signed.
      const bumped = concat([slice(batch, 0, size(batch) - 1), numberToHex(Number(slice(batch, size(batch) - 1)) ^ 1, { size: 1 })]);
      const [, signer] = await expectRevert(f.broker.write.redeemTicketsCompact([bumped], { account: providerW.account }), "InvalidSigner");
      assert.notEqual(signer, sender);
      // Another provider sending these bytes rebuilds tickets of its own, which nobody signed.
      await expectRevert(f.broker.write.redeemTicketsCompact([batch], { account: provider2W.account }), "InvalidSigner");
      await f.broker.write.redeemTicketsCompact([batch], { account: providerW.account });
      assert.equal(await f.broker.read.lastNonce([sender, provider]), 1n);
    });

    it("the broker's reader (CompactBatchLib) rebuilds exactly what the TypeScript writer encoded", async () => {
      const harness = await viem.deployContract("CompactBatchHarness");
      const word = (n: bigint) => numberToHex(n, { size: 32 });
      const arb = fc.array(
        fc.record({
          sender: fc.constantFrom(sender, sender2, stranger),
          face: fc.bigInt({ min: 0n, max: maxUint256 }),
          rand: fc.bigInt({ min: 0n, max: maxUint256 }),
          nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          expiry: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          bytes: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          r: fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }),
          s: fc.bigInt({ min: 1n, max: SECP256K1_HALF_N }),
          v: fc.constantFrom(27, 28),
        }),
        { minLength: 1, maxLength: 6 },
      );
      await fc.assert(
        fc.asyncProperty(arb, async (rows) => {
          const items: RedeemItem[] = rows.map((x) => ({
            ticket: {
              recipient: provider, sender: x.sender, faceValue: x.face % 3n, winProb: MAX_WIN_PROB, senderNonce: x.nonce,
              recipientRandHash: recipientRandHash(x.rand % 2n), expiry: x.expiry, sessionId: SESSION, cumulativeBytes: x.bytes,
            },
            signature: concat([word(x.r), word(x.s), numberToHex(x.v, { size: 1 })]),
            recipientRand: x.rand % 2n,
          }));
          const batch = encodeCompactBatch(items);
          const [tickets, sigs, rands, hashes] = await harness.read.decode([batch, provider]);
          assert.deepEqual(tickets.map((t) => ({ ...t, recipient: getAddress(t.recipient), sender: getAddress(t.sender) })), items.map((i) => i.ticket));
          assert.deepEqual(sigs, items.map((i) => i.signature));
          assert.deepEqual(rands, items.map((i) => i.recipientRand));
          assert.deepEqual(hashes, items.map((i) => ticketStructHash(i.ticket)));
          assert.deepEqual(decodeCompactBatch(batch, provider), items);
        }),
        { numRuns: 25 },
      );
    });
  });
});
