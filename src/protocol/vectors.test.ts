// Checks the shared vectors (test/vectors/tickets.json) field by field, both against this package
// and against viem as an independent implementation, and that the generator still reproduces the
// committed file, so the TypeScript and Solidity sides cannot drift apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  concat,
  hashDomain,
  hashStruct,
  hashTypedData,
  hexToBigInt,
  keccak256,
  numberToHex,
  recoverTypedDataAddress,
  zeroAddress,
  type Hex,
} from "viem";
import { generateVectors, VECTORS_PATH, type TicketVectorsFile } from "../../scripts/gen-vectors.ts";
import { domainSeparator, hashTicket, ticketStructHash } from "./hashTicket.ts";
import { recoverTicketSigner } from "./recoverTicketSigner.ts";
import { isCanonicalSignature, SECP256K1_HALF_N } from "./signature.ts";
import { parseTicket, serializeTicket, ticketDomain, ticketTypes } from "./ticket.ts";
import { isWinningTicket, recipientRandHash } from "./winningTicket.ts";

const text = readFileSync(VECTORS_PATH, "utf8");
const file = JSON.parse(text) as TicketVectorsFile;
const domain = ticketDomain(file.domain.chainId, file.domain.verifyingContract);

test("the generator reproduces the committed vectors byte for byte", async () => {
  assert.equal(await generateVectors(), text, "run `npx node scripts/gen-vectors.ts` and commit the result");
});

test("the file has the agreed shape and covers the edge cases", () => {
  assert.deepEqual(Object.keys(file), ["domain", "domainSeparator", "vectors"]);
  assert.deepEqual(file.domain, { name: "bandmint", version: "1", chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" });
  assert.ok(file.vectors.length >= 24, `${file.vectors.length} vectors`);
  const keys = ["name", "ticket", "recipientRand", "structHash", "digest", "signature", "signatureValid", "signer", "winning", "now", "expired"];
  for (const v of file.vectors) assert.deepEqual(Object.keys(v), keys, v.name);
  assert.equal(new Set(file.vectors.map((v) => v.name)).size, file.vectors.length, "names are unique");
  const has = (predicate: (v: TicketVectorsFile["vectors"][number]) => boolean, what: string) => assert.ok(file.vectors.some(predicate), what);
  has((v) => v.ticket.winProb === "0", "winProb 0");
  has((v) => v.ticket.winProb === (2n ** 256n - 1n).toString() && v.winning, "winProb max wins");
  has((v) => !v.signatureValid && (v.signature.length - 2) / 2 === 64, "64-byte signature");
  has((v) => !v.signatureValid && v.signature.endsWith("00"), "v = 0");
  has((v) => !v.signatureValid && v.signature.endsWith("01"), "v = 1");
  has((v) => v.signatureValid && v.signer !== v.ticket.sender, "signer != sender");
  has((v) => v.expired && BigInt(v.now) === BigInt(v.ticket.expiry) + 1n, "now == expiry + 1 expired");
  has((v) => !v.expired && v.now === v.ticket.expiry, "now == expiry valid");
  has((v) => v.recipientRand === "0", "zero recipientRand");
  has((v) => v.signatureValid && v.signer === v.ticket.sender && v.winning && !v.expired && v.ticket.winProb !== (2n ** 256n - 1n).toString(), "a redeemable winner below certainty");
  // The rest of the cases docs/PROTOCOL.md §2 promises.
  const max256 = (2n ** 256n - 1n).toString();
  const draw = (v: TicketVectorsFile["vectors"][number]) => hexToBigInt(keccak256(concat([v.signature as Hex, numberToHex(BigInt(v.recipientRand), { size: 32 })])));
  has((v) => draw(v) === BigInt(v.ticket.winProb) && !v.winning, "draw exactly at winProb loses");
  has((v) => draw(v) + 1n === BigInt(v.ticket.winProb) && v.winning, "draw one below winProb wins");
  has((v) => v.ticket.faceValue === "0", "face value 0");
  has((v) => v.ticket.faceValue === max256, "face value 2^256 - 1");
  has((v) => v.ticket.senderNonce === "0", "nonce 0");
  has((v) => v.ticket.senderNonce === max256, "nonce 2^256 - 1");
  has((v) => v.ticket.cumulativeBytes === (2n ** 64n - 1n).toString(), "cumulativeBytes 2^64 - 1");
  has((v) => !v.signatureValid && BigInt(`0x${v.signature.slice(66, 130)}`) > SECP256K1_HALF_N, "high s");
  has((v) => !v.signatureValid && v.signature.endsWith("1d"), "v = 29");
  has((v) => !v.signatureValid && /^0x0{64}/.test(v.signature), "r = 0");
  has((v) => !v.signatureValid && v.signature.length === 132 && /^0{64}$/.test(v.signature.slice(66, 130)), "s = 0");
});

test("domain separator matches ours and viem's", () => {
  assert.equal(domainSeparator(domain), file.domainSeparator);
  assert.equal(hashDomain({ domain, types: { EIP712Domain: [
    { name: "name", type: "string" }, { name: "version", type: "string" },
    { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" },
  ] } }), file.domainSeparator);
});

for (const v of file.vectors) {
  test(`vector ${v.name}`, async () => {
    const ticket = parseTicket(v.ticket);
    assert.deepEqual(serializeTicket(ticket), v.ticket, "wire form is canonical");
    const rand = BigInt(v.recipientRand);
    assert.equal(recipientRandHash(rand), ticket.recipientRandHash, "recipientRandHash commits to recipientRand");

    assert.equal(ticketStructHash(ticket), v.structHash);
    assert.equal(hashStruct({ data: ticket, primaryType: "Ticket", types: ticketTypes }), v.structHash);
    assert.equal(hashTicket(ticket, domain), v.digest);
    assert.equal(hashTypedData({ domain, types: ticketTypes, primaryType: "Ticket", message: ticket }), v.digest);

    assert.equal(isCanonicalSignature(v.signature), v.signatureValid);
    if (v.signatureValid) {
      assert.equal(recoverTicketSigner(ticket, domain, v.signature), v.signer);
      const viaViem = await recoverTypedDataAddress({ domain, types: ticketTypes, primaryType: "Ticket", message: ticket, signature: v.signature });
      assert.equal(viaViem, v.signer);
    } else {
      assert.equal(v.signer, zeroAddress);
      assert.throws(() => recoverTicketSigner(ticket, domain, v.signature));
    }

    assert.equal(isWinningTicket(v.signature, rand, ticket.winProb), v.winning);
    const draw = hexToBigInt(keccak256(concat([v.signature, numberToHex(rand, { size: 32 })]) as Hex));
    assert.equal(draw < ticket.winProb, v.winning, "draw recomputed with viem");
    assert.equal(BigInt(v.now) > ticket.expiry, v.expired);
  });
}
