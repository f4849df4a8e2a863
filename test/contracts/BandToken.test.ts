// BandToken from TypeScript: every external of our wiring and each revert path, through viem as
// the node and client will call it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, keccak256, parseEther, parseSignature, stringToBytes, zeroAddress, type Address } from "viem";
import { expectRevert, findEvent, increaseTime, latestTimestamp, receiptEvents } from "./helpers.ts";

const CAP = parseEther("1000000");
const MINTER_ROLE = keccak256(stringToBytes("MINTER_ROLE"));
const ADMIN_ROLE = `0x${"00".repeat(32)}` as const;

const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [adminW, minterW, aliceW, bobW, ownerW] = await viem.getWalletClients();
if (!adminW || !minterW || !aliceW || !bobW || !ownerW) throw new Error("need 5 accounts");
const admin = getAddress(adminW.account.address);
const minter = getAddress(minterW.account.address);
const alice = getAddress(aliceW.account.address);
const bob = getAddress(bobW.account.address);

async function deployToken() {
  const token = await viem.deployContract("BandToken", [
    "Bandmint",
    "BAND",
    CAP,
    admin,
    [alice, bob],
    [parseEther("100"), parseEther("50")],
  ]);
  await token.write.grantRole([MINTER_ROLE, minter], { account: adminW!.account });
  return token;
}

describe("BandToken", () => {
  describe("constructor", () => {
    it("sets metadata, cap, roles and mints the genesis", async () => {
      const token = await deployToken();
      assert.equal(await token.read.name(), "Bandmint");
      assert.equal(await token.read.symbol(), "BAND");
      assert.equal(await token.read.decimals(), 18);
      assert.equal(await token.read.cap(), CAP);
      assert.equal(await token.read.MINTER_ROLE(), MINTER_ROLE);
      assert.equal(await token.read.balanceOf([alice]), parseEther("100"));
      assert.equal(await token.read.balanceOf([bob]), parseEther("50"));
      assert.equal(await token.read.totalSupply(), parseEther("150"));
      assert.equal(await token.read.hasRole([ADMIN_ROLE, admin]), true);
      assert.equal(await token.read.hasRole([MINTER_ROLE, admin]), false);
    });

    it("reverts with GenesisLengthMismatch carrying both lengths", async () => {
      const { abi } = await deployToken();
      await expectRevert(
        viem.deployContract("BandToken", ["B", "B", CAP, admin, [alice, bob], [1n]]),
        "GenesisLengthMismatch",
        { abi, args: [2n, 1n] },
      );
    });

    it("reverts when the genesis exceeds the cap, and when the cap is zero", async () => {
      const { abi } = await deployToken();
      await expectRevert(
        viem.deployContract("BandToken", ["B", "B", 10n, admin, [alice], [11n]]),
        "ERC20ExceededCap",
        { abi, args: [11n, 10n] },
      );
      await expectRevert(viem.deployContract("BandToken", ["B", "B", 0n, admin, [], []]), "ERC20InvalidCap", {
        abi,
        args: [0n],
      });
    });
  });

  describe("mint", () => {
    it("mints to an account when called by a minter, emitting Transfer", async () => {
      const token = await deployToken();
      const hash = await token.write.mint([bob, 7n], { account: minterW.account });
      const transfer = findEvent(await receiptEvents(publicClient, hash, token.abi), "Transfer");
      assert.deepEqual(transfer, { from: zeroAddress, to: bob, value: 7n });
      assert.equal(await token.read.balanceOf([bob]), parseEther("50") + 7n);
      assert.equal(await token.read.totalSupply(), parseEther("150") + 7n);
    });

    it("reverts with AccessControlUnauthorizedAccount without MINTER_ROLE (even for the admin)", async () => {
      const token = await deployToken();
      await expectRevert(token.write.mint([alice, 1n], { account: aliceW.account }), "AccessControlUnauthorizedAccount", {
        args: [alice, MINTER_ROLE],
      });
      await expectRevert(token.write.mint([admin, 1n], { account: adminW.account }), "AccessControlUnauthorizedAccount", {
        args: [admin, MINTER_ROLE],
      });
    });

    it("mints up to the cap exactly and reverts with ERC20ExceededCap past it", async () => {
      const token = await deployToken();
      const room = CAP - (await token.read.totalSupply());
      await token.write.mint([alice, room], { account: minterW.account });
      assert.equal(await token.read.totalSupply(), CAP);
      await expectRevert(token.write.mint([alice, 1n], { account: minterW.account }), "ERC20ExceededCap", {
        args: [CAP + 1n, CAP],
      });
    });

    it("stops a minter whose role was revoked", async () => {
      const token = await deployToken();
      await token.write.revokeRole([MINTER_ROLE, minter], { account: adminW.account });
      await expectRevert(token.write.mint([minter, 1n], { account: minterW.account }), "AccessControlUnauthorizedAccount");
      assert.equal(await token.read.hasRole([MINTER_ROLE, minter]), false);
    });

    it("lets only the admin grant roles", async () => {
      const token = await deployToken();
      await expectRevert(
        token.write.grantRole([MINTER_ROLE, alice], { account: aliceW.account }),
        "AccessControlUnauthorizedAccount",
        { args: [alice, ADMIN_ROLE] },
      );
    });
  });

  describe("burn", () => {
    it("burn reduces balance and supply, emitting Transfer to zero", async () => {
      const token = await deployToken();
      const hash = await token.write.burn([parseEther("30")], { account: aliceW.account });
      const transfer = findEvent(await receiptEvents(publicClient, hash, token.abi), "Transfer");
      assert.deepEqual(transfer, { from: alice, to: zeroAddress, value: parseEther("30") });
      assert.equal(await token.read.balanceOf([alice]), parseEther("70"));
      assert.equal(await token.read.totalSupply(), parseEther("120"));
    });

    it("burn above the balance reverts with ERC20InsufficientBalance", async () => {
      const token = await deployToken();
      await expectRevert(token.write.burn([parseEther("100") + 1n], { account: aliceW.account }), "ERC20InsufficientBalance", {
        args: [alice, parseEther("100"), parseEther("100") + 1n],
      });
    });

    it("burnFrom spends the allowance; above it reverts with ERC20InsufficientAllowance", async () => {
      const token = await deployToken();
      await token.write.approve([bob, parseEther("40")], { account: aliceW.account });
      await token.write.burnFrom([alice, parseEther("25")], { account: bobW.account });
      assert.equal(await token.read.balanceOf([alice]), parseEther("75"));
      assert.equal(await token.read.allowance([alice, bob]), parseEther("15"));
      assert.equal(await token.read.totalSupply(), parseEther("125"));
      await expectRevert(token.write.burnFrom([alice, parseEther("16")], { account: bobW.account }), "ERC20InsufficientAllowance", {
        args: [bob, parseEther("15"), parseEther("16")],
      });
    });

    it("burning frees room under the cap", async () => {
      const token = await deployToken();
      await token.write.mint([alice, CAP - (await token.read.totalSupply())], { account: minterW.account });
      await token.write.burn([5n], { account: aliceW.account });
      await token.write.mint([bob, 5n], { account: minterW.account });
      assert.equal(await token.read.totalSupply(), CAP);
    });
  });

  describe("transfer", () => {
    it("moves tokens and reverts above the balance", async () => {
      const token = await deployToken();
      await token.write.transfer([bob, parseEther("10")], { account: aliceW.account });
      assert.equal(await token.read.balanceOf([alice]), parseEther("90"));
      assert.equal(await token.read.balanceOf([bob]), parseEther("60"));
      await expectRevert(token.write.transfer([bob, parseEther("91")], { account: aliceW.account }), "ERC20InsufficientBalance");
    });
  });

  describe("permit (EIP-2612)", () => {
    const permitTypes = {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    } as const;

    async function signPermit(token: { address: Address }, value: bigint, nonce: bigint, deadline: bigint, signer = ownerW!) {
      const signature = await signer.signTypedData({
        domain: { name: "Bandmint", version: "1", chainId: await publicClient.getChainId(), verifyingContract: token.address },
        types: permitTypes,
        primaryType: "Permit",
        message: { owner: ownerW!.account.address, spender: bob, value, nonce, deadline },
      });
      const { r, s, v } = parseSignature(signature);
      return { r, s, v: Number(v) };
    }

    it("sets the allowance from a wallet's typed-data signature and bumps the nonce", async () => {
      const token = await deployToken();
      const owner = getAddress(ownerW.account.address);
      const deadline = (await latestTimestamp(publicClient)) + 3600n;
      const { v, r, s } = await signPermit(token, 5n, 0n, deadline);
      const hash = await token.write.permit([owner, bob, 5n, deadline, v, r, s], { account: aliceW.account });
      const approval = findEvent(await receiptEvents(publicClient, hash, token.abi), "Approval");
      assert.deepEqual(approval, { owner, spender: bob, value: 5n });
      assert.equal(await token.read.allowance([owner, bob]), 5n);
      assert.equal(await token.read.nonces([owner]), 1n);
    });

    it("reverts with ERC2612ExpiredSignature after the deadline", async () => {
      const token = await deployToken();
      const deadline = (await latestTimestamp(publicClient)) + 10n;
      const { v, r, s } = await signPermit(token, 5n, 0n, deadline);
      await increaseTime(publicClient, 100);
      await expectRevert(
        token.write.permit([ownerW.account.address, bob, 5n, deadline, v, r, s], { account: aliceW.account }),
        "ERC2612ExpiredSignature",
        { args: [deadline] },
      );
    });

    it("reverts with ERC2612InvalidSigner for another signer, a replay or a changed value", async () => {
      const token = await deployToken();
      const owner = getAddress(ownerW.account.address);
      const deadline = (await latestTimestamp(publicClient)) + 3600n;
      const forged = await signPermit(token, 5n, 0n, deadline, aliceW);
      const [signer, claimed] = await expectRevert(
        token.write.permit([owner, bob, 5n, deadline, forged.v, forged.r, forged.s], { account: aliceW.account }),
        "ERC2612InvalidSigner",
      );
      assert.equal(signer, alice);
      assert.equal(claimed, owner);

      const good = await signPermit(token, 5n, 0n, deadline);
      await expectRevert(
        token.write.permit([owner, bob, 6n, deadline, good.v, good.r, good.s], { account: aliceW.account }),
        "ERC2612InvalidSigner",
      );
      await token.write.permit([owner, bob, 5n, deadline, good.v, good.r, good.s], { account: aliceW.account });
      await expectRevert(
        token.write.permit([owner, bob, 5n, deadline, good.v, good.r, good.s], { account: aliceW.account }),
        "ERC2612InvalidSigner",
      );
      assert.equal(await token.read.nonces([owner]), 1n);
    });
  });
});
