// ProviderRegistry from TypeScript: every external and revert path, with events and balances,
// through viem as the market and node code will call it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, maxUint256, parseEther } from "viem";
import { expectRevert, findEvent, increaseTime, latestTimestamp, receiptEvents } from "./helpers.ts";

const MIN_STAKE = parseEther("100");
const DELAY = 7n * 24n * 3600n;
const FUND = parseEther("10000");

const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const wallets = await viem.getWalletClients();
const [adminW, aliceW, bobW, carolW, daveW, poorW] = wallets;
if (!adminW || !aliceW || !bobW || !carolW || !daveW || !poorW) throw new Error("need 6 accounts");
const alice = getAddress(aliceW.account.address);
const bob = getAddress(bobW.account.address);
const carol = getAddress(carolW.account.address);
const dave = getAddress(daveW.account.address);

type Offer = { endpoint: string; pricePerGiB: bigint; capacityMbps: bigint; region: string; services: number };
const offer = (endpoint: string, extra: Partial<Offer> = {}): Offer => ({
  endpoint,
  pricePerGiB: parseEther("0.001"),
  capacityMbps: 1000n,
  region: "eu-west",
  services: 1,
  ...extra,
});

async function deploy() {
  const funded = [aliceW!, bobW!, carolW!, daveW!];
  const token = await viem.deployContract("BandToken", [
    "Bandmint",
    "BAND",
    parseEther("1000000"),
    getAddress(adminW!.account.address),
    funded.map((w) => w.account.address),
    funded.map(() => FUND),
  ]);
  const registry = await viem.deployContract("ProviderRegistry", [token.address, MIN_STAKE, DELAY]);
  for (const w of [...funded, poorW!]) {
    await token.write.approve([registry.address, maxUint256], { account: w.account });
  }
  return { token, registry };
}

describe("ProviderRegistry", () => {
  it("exposes its parameters", async () => {
    const { token, registry } = await deploy();
    assert.equal(await registry.read.minStake(), MIN_STAKE);
    assert.equal(await registry.read.unstakeDelay(), DELAY);
    assert.equal(await registry.read.token(), getAddress(token.address));
    assert.equal(await registry.read.activeProviderCount(), 0n);
    assert.equal(await registry.read.activeSince([alice]), 0n);
    assert.equal(await registry.read.MAX_ENDPOINT_LENGTH(), 256n);
    assert.equal(await registry.read.MAX_REGION_LENGTH(), 32n);
  });

  it("rejects an unstake delay above MAX_UNSTAKE_DELAY with UnstakeDelayTooLong", async () => {
    const { token, registry } = await deploy();
    const max = await registry.read.MAX_UNSTAKE_DELAY();
    assert.equal(max, 365n * 24n * 3600n);
    await expectRevert(viem.deployContract("ProviderRegistry", [token.address, 0n, max + 1n]), "UnstakeDelayTooLong", {
      abi: registry.abi,
      args: [max + 1n, max],
    });
  });

  describe("register", () => {
    it("stores the offer, pulls the stake and emits ProviderRegistered then OfferUpdated", async () => {
      const { token, registry } = await deploy();
      const o = offer("https://alice.example:8443", { services: 3, region: "us-east", capacityMbps: 2500n });
      const hash = await registry.write.register([o, parseEther("150")], { account: aliceW.account });
      const events = await receiptEvents(publicClient, hash, [...registry.abi, ...token.abi]);
      const now = await latestTimestamp(publicClient);
      assert.deepEqual(
        events.filter((e) => getAddress(e.address) === getAddress(registry.address)).map((e) => e.eventName),
        ["ProviderRegistered", "OfferUpdated"],
      );
      assert.deepEqual(findEvent(events, "ProviderRegistered"), { provider: alice, stake: parseEther("150"), activeSince: now });
      assert.deepEqual(findEvent(events, "OfferUpdated"), { provider: alice, ...o });
      assert.deepEqual(findEvent(events, "Transfer"), { from: alice, to: getAddress(registry.address), value: parseEther("150") });

      assert.equal(await token.read.balanceOf([registry.address]), parseEther("150"));
      assert.equal(await token.read.balanceOf([alice]), FUND - parseEther("150"));
      assert.equal(await registry.read.activeProviderCount(), 1n);
      assert.equal(await registry.read.activeSince([alice]), now);
      assert.deepEqual(await registry.read.getProvider([alice]), { offer: o, stake: parseEther("150"), activeSince: now, unstakeTime: 0n });
    });

    it("reverts with StakeBelowMinimum", async () => {
      const { registry } = await deploy();
      await expectRevert(registry.write.register([offer("https://a"), MIN_STAKE - 1n], { account: aliceW.account }), "StakeBelowMinimum", {
        args: [MIN_STAKE - 1n, MIN_STAKE],
      });
    });

    it("reverts with AlreadyRegistered when active and while unstaking", async () => {
      const { registry } = await deploy();
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      await expectRevert(registry.write.register([offer("https://b"), MIN_STAKE], { account: aliceW.account }), "AlreadyRegistered", {
        args: [alice],
      });
      await registry.write.requestUnstake({ account: aliceW.account });
      await expectRevert(registry.write.register([offer("https://b"), MIN_STAKE], { account: aliceW.account }), "AlreadyRegistered");
    });

    it("bubbles the token's errors without allowance or balance", async () => {
      const { token, registry } = await deploy();
      await token.write.approve([registry.address, MIN_STAKE - 1n], { account: aliceW.account });
      await expectRevert(registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account }), "ERC20InsufficientAllowance", {
        abi: token.abi,
        args: [getAddress(registry.address), MIN_STAKE - 1n, MIN_STAKE],
      });
      await expectRevert(registry.write.register([offer("https://p"), MIN_STAKE], { account: poorW.account }), "ERC20InsufficientBalance", {
        abi: token.abi,
        args: [getAddress(poorW.account.address), 0n, MIN_STAKE],
      });
      assert.equal(await registry.read.activeProviderCount(), 0n);
    });

    it("validates the offer: endpoint, region, price and services, with the values", async () => {
      const { registry } = await deploy();
      const reg = (o: Offer) => registry.write.register([o, MIN_STAKE], { account: aliceW.account });
      await expectRevert(reg(offer("")), "InvalidEndpoint", { args: [0n, 256n] });
      await expectRevert(reg(offer("x".repeat(257))), "InvalidEndpoint", { args: [257n, 256n] });
      await expectRevert(reg(offer("https://a", { region: "r".repeat(33) })), "InvalidRegion", { args: [33n, 32n] });
      await expectRevert(reg(offer("https://a", { pricePerGiB: 0n })), "InvalidPrice", { args: [0n] });
      for (const services of [0, 4, 7, 255]) {
        await expectRevert(reg(offer("https://a", { services })), "InvalidServices", { args: [services] });
      }
      // Multi-byte UTF-8 counts in bytes: 129 two-byte characters are 258 bytes.
      await expectRevert(reg(offer("é".repeat(129))), "InvalidEndpoint", { args: [258n, 256n] });
      // The limits themselves are accepted.
      await reg(offer("x".repeat(256), { region: "r".repeat(32), services: 2 }));
      assert.equal((await registry.read.getProvider([alice])).offer.endpoint.length, 256);
    });
  });

  describe("updateOffer", () => {
    it("replaces the offer, emits OfferUpdated with every field, keeps activeSince", async () => {
      const { registry } = await deploy();
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      const since = await registry.read.activeSince([alice]);
      await increaseTime(publicClient, 60);
      const o = offer("https://new.example", { pricePerGiB: 7n, capacityMbps: 10n, region: "", services: 2 });
      const hash = await registry.write.updateOffer([o], { account: aliceW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, registry.abi), "OfferUpdated"), { provider: alice, ...o });
      assert.deepEqual((await registry.read.getProvider([alice])).offer, o);
      const [providers, offers] = await registry.read.getOffers([0n, 10n]);
      assert.deepEqual(providers, [alice]);
      assert.deepEqual(offers, [o]);
      assert.equal(await registry.read.activeSince([alice]), since);
    });

    it("reverts with NotActive unless active, and validates", async () => {
      const { registry } = await deploy();
      await expectRevert(registry.write.updateOffer([offer("https://a")], { account: aliceW.account }), "NotActive", { args: [alice] });
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      await expectRevert(registry.write.updateOffer([offer("https://a", { services: 4 })], { account: aliceW.account }), "InvalidServices");
      await registry.write.requestUnstake({ account: aliceW.account });
      await expectRevert(registry.write.updateOffer([offer("https://a")], { account: aliceW.account }), "NotActive", { args: [alice] });
    });
  });

  describe("addStake", () => {
    it("adds to the stake and emits StakeAdded with the new total", async () => {
      const { token, registry } = await deploy();
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      const hash = await registry.write.addStake([parseEther("25")], { account: aliceW.account });
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, registry.abi), "StakeAdded"), {
        provider: alice,
        amount: parseEther("25"),
        newStake: MIN_STAKE + parseEther("25"),
      });
      assert.equal((await registry.read.getProvider([alice])).stake, MIN_STAKE + parseEther("25"));
      assert.equal(await token.read.balanceOf([registry.address]), MIN_STAKE + parseEther("25"));
    });

    it("reverts with ZeroAmount and NotActive", async () => {
      const { registry } = await deploy();
      await expectRevert(registry.write.addStake([1n], { account: aliceW.account }), "NotActive", { args: [alice] });
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      await expectRevert(registry.write.addStake([0n], { account: aliceW.account }), "ZeroAmount");
    });
  });

  describe("requestUnstake and withdrawStake", () => {
    it("leaves the active set at once and emits UnstakeRequested with the unlock time", async () => {
      const { registry } = await deploy();
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      await registry.write.register([offer("https://b"), MIN_STAKE], { account: bobW.account });
      const hash = await registry.write.requestUnstake({ account: aliceW.account });
      const now = await latestTimestamp(publicClient);
      assert.deepEqual(findEvent(await receiptEvents(publicClient, hash, registry.abi), "UnstakeRequested"), {
        provider: alice,
        stake: MIN_STAKE,
        unlockTime: now + DELAY,
      });
      assert.equal(await registry.read.activeProviderCount(), 1n);
      assert.equal(await registry.read.activeSince([alice]), 0n);
      const p = await registry.read.getProvider([alice]);
      assert.equal(p.unstakeTime, now + DELAY);
      assert.equal(p.stake, MIN_STAKE);
      assert.deepEqual((await registry.read.getOffers([0n, 10n]))[0], [bob]);
    });

    it("requestUnstake reverts with NotActive when not registered or already unstaking", async () => {
      const { registry } = await deploy();
      await expectRevert(registry.write.requestUnstake({ account: aliceW.account }), "NotActive", { args: [alice] });
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      await registry.write.requestUnstake({ account: aliceW.account });
      await expectRevert(registry.write.requestUnstake({ account: aliceW.account }), "NotActive", { args: [alice] });
    });

    it("withdrawStake reverts with StakeLocked before the delay, pays back after, then allows re-registering", async () => {
      const { token, registry } = await deploy();
      await registry.write.register([offer("https://a"), parseEther("300")], { account: aliceW.account });
      await registry.write.requestUnstake({ account: aliceW.account });
      const unlockTime = (await registry.read.getProvider([alice])).unstakeTime;

      const [who, locked, now] = await expectRevert(registry.write.withdrawStake({ account: aliceW.account }), "StakeLocked");
      assert.equal(who, alice);
      assert.equal(locked, unlockTime);
      assert.ok((now as bigint) < unlockTime);

      await increaseTime(publicClient, DELAY);
      const hash = await registry.write.withdrawStake({ account: aliceW.account });
      const events = await receiptEvents(publicClient, hash, [...registry.abi, ...token.abi]);
      assert.deepEqual(findEvent(events, "StakeWithdrawn"), { provider: alice, amount: parseEther("300") });
      assert.deepEqual(findEvent(events, "Transfer"), { from: getAddress(registry.address), to: alice, value: parseEther("300") });
      assert.equal(await token.read.balanceOf([alice]), FUND);
      assert.equal(await token.read.balanceOf([registry.address]), 0n);
      assert.deepEqual(await registry.read.getProvider([alice]), {
        offer: { endpoint: "", pricePerGiB: 0n, capacityMbps: 0n, region: "", services: 0 },
        stake: 0n,
        activeSince: 0n,
        unstakeTime: 0n,
      });
      await expectRevert(registry.write.withdrawStake({ account: aliceW.account }), "NotUnstaking", { args: [alice] });

      await registry.write.register([offer("https://again"), MIN_STAKE], { account: aliceW.account });
      assert.equal(await registry.read.activeSince([alice]), await latestTimestamp(publicClient));
      assert.equal(await registry.read.activeProviderCount(), 1n);
    });

    it("withdrawStake reverts with NotUnstaking for an unknown or active provider", async () => {
      const { registry } = await deploy();
      await expectRevert(registry.write.withdrawStake({ account: aliceW.account }), "NotUnstaking", { args: [alice] });
      await registry.write.register([offer("https://a"), MIN_STAKE], { account: aliceW.account });
      await expectRevert(registry.write.withdrawStake({ account: aliceW.account }), "NotUnstaking", { args: [alice] });
    });
  });

  describe("getOffers", () => {
    it("paginates, clips the limit and returns nothing for offset >= count or limit 0", async () => {
      const { registry } = await deploy();
      assert.deepEqual(await registry.read.getOffers([0n, 10n]), [[], []]);
      for (const [w, e] of [[aliceW, "https://a"], [bobW, "https://b"], [carolW, "https://c"]] as const) {
        await registry.write.register([offer(e), MIN_STAKE], { account: w.account });
      }
      const [p1, o1] = await registry.read.getOffers([0n, 2n]);
      assert.deepEqual(p1, [alice, bob]);
      assert.deepEqual(o1.map((o) => o.endpoint), ["https://a", "https://b"]);
      const [p2, o2] = await registry.read.getOffers([2n, 2n]);
      assert.deepEqual(p2, [carol]);
      assert.deepEqual(o2.map((o) => o.endpoint), ["https://c"]);
      assert.deepEqual(await registry.read.getOffers([3n, 10n]), [[], []]);
      assert.deepEqual(await registry.read.getOffers([maxUint256, maxUint256]), [[], []]);
      assert.deepEqual(await registry.read.getOffers([0n, 0n]), [[], []]);
      assert.equal((await registry.read.getOffers([0n, maxUint256]))[0].length, 3);
    });

    it("keeps the set consistent through swap-and-pop removals", async () => {
      const { registry } = await deploy();
      for (const [w, e] of [[aliceW, "https://a"], [bobW, "https://b"], [carolW, "https://c"], [daveW, "https://d"]] as const) {
        await registry.write.register([offer(e), MIN_STAKE], { account: w.account });
      }
      await registry.write.requestUnstake({ account: aliceW.account }); // dave moves into slot 0
      assert.deepEqual((await registry.read.getOffers([0n, 10n]))[0], [dave, bob, carol]);
      await registry.write.requestUnstake({ account: daveW.account }); // the moved one leaves
      assert.deepEqual((await registry.read.getOffers([0n, 10n]))[0], [carol, bob]);
      await registry.write.requestUnstake({ account: bobW.account }); // the last one leaves
      assert.deepEqual((await registry.read.getOffers([0n, 10n]))[0], [carol]);
      assert.equal(await registry.read.activeProviderCount(), 1n);
    });
  });
});
