import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { concat, encodePacked, getAddress, keccak256, numberToHex, size, slice, type Address, type Hex } from "viem";
import {
  COMPACT_GROUP_HEADER_SIZE,
  COMPACT_MAX_GROUP,
  COMPACT_TICKET_SIZE,
  decodeCompactBatch,
  encodeCompactBatch,
  type RedeemItem,
} from "./compactBatch.ts";
import { CompactBatchError } from "./errors.ts";
import { SECP256K1_HALF_N, SECP256K1_N } from "./signature.ts";
import { MAX_UINT256, MAX_UINT64 } from "./ticket.ts";
import { address, hexBytes, sampleTicket, uint256, uint64 } from "./testing/arbitraries.ts";
import { recipientRandHash } from "./winningTicket.ts";

const RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const word = (n: bigint) => numberToHex(n, { size: 32 });
const sig = (r: bigint, s: bigint, v: 27 | 28) => concat([word(r), word(s), numberToHex(v, { size: 1 })]);

/** A redeemable item with a canonical (not necessarily valid) signature and a matching rand. */
function item(overrides: { nonce?: bigint; rand?: bigint; sender?: Address; faceValue?: bigint; r?: bigint; s?: bigint; v?: 27 | 28 } = {}): RedeemItem {
  const rand = overrides.rand ?? 42n;
  return {
    ticket: sampleTicket({
      recipient: RECIPIENT,
      senderNonce: overrides.nonce ?? 7n,
      recipientRandHash: recipientRandHash(rand),
      ...(overrides.sender ? { sender: overrides.sender } : {}),
      ...(overrides.faceValue !== undefined ? { faceValue: overrides.faceValue } : {}),
    }),
    signature: sig(overrides.r ?? 0x1111n, overrides.s ?? 0x2222n, overrides.v ?? 27),
    recipientRand: rand,
  };
}

/** Arbitrary items to one recipient, where runs of equal group fields occur. */
const items: fc.Arbitrary<RedeemItem[]> = fc
  .array(
    fc.record({
      newGroup: fc.boolean(),
      sender: address,
      faceValue: uint256,
      winProb: uint256,
      rand: uint256,
      sessionId: hexBytes(32),
      nonce: uint64,
      expiry: uint64,
      cumulativeBytes: uint64,
      r: fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }),
      s: fc.bigInt({ min: 1n, max: SECP256K1_HALF_N }),
      v: fc.constantFrom(27 as const, 28 as const),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((rows) => {
    const out: RedeemItem[] = [];
    for (const [i, x] of rows.entries()) {
      const prev = out[i - 1];
      const shared = prev && !x.newGroup
        ? { ...prev.ticket, rand: prev.recipientRand }
        : { sender: x.sender, faceValue: x.faceValue, winProb: x.winProb, rand: x.rand, sessionId: x.sessionId };
      out.push({
        ticket: {
          recipient: RECIPIENT,
          sender: shared.sender,
          faceValue: shared.faceValue,
          winProb: shared.winProb,
          senderNonce: x.nonce,
          recipientRandHash: recipientRandHash(shared.rand),
          expiry: x.expiry,
          sessionId: shared.sessionId,
          cumulativeBytes: x.cumulativeBytes,
        },
        signature: sig(x.r, x.s, x.v),
        recipientRand: shared.rand,
      });
    }
    return out;
  });

test("decode(encode(items)) gives back the items, in 149 bytes per group and 88 per ticket", () => {
  fc.assert(
    fc.property(items, (xs) => {
      const batch = encodeCompactBatch(xs);
      const groups = xs.filter((x, i) => i === 0 || x.ticket.sender !== xs[i - 1]!.ticket.sender || x.recipientRand !== xs[i - 1]!.recipientRand
        || x.ticket.faceValue !== xs[i - 1]!.ticket.faceValue || x.ticket.winProb !== xs[i - 1]!.ticket.winProb || x.ticket.sessionId !== xs[i - 1]!.ticket.sessionId).length;
      assert.equal(size(batch), groups * COMPACT_GROUP_HEADER_SIZE + xs.length * COMPACT_TICKET_SIZE);
      assert.deepEqual(decodeCompactBatch(batch, RECIPIENT), xs);
    }),
    { numRuns: 200 },
  );
});

test("the layout is the documented one, byte for byte", () => {
  const a = item({ nonce: 0x0102n, r: 0xaan, s: 0xbbn, v: 28 });
  const b = item({ nonce: 0x0304n, r: 0xccn, s: 0xddn, v: 27 });
  const batch = encodeCompactBatch([a, b]);
  const t = a.ticket;
  const expected = concat([
    encodePacked(["address", "uint8", "uint256", "uint256", "uint256", "bytes32"], [t.sender, 2, t.faceValue, t.winProb, a.recipientRand, t.sessionId]),
    // r, then yParityAndS: v = 28 sets the top bit of s.
    word(0xaan), word(0xbbn | (1n << 255n)), encodePacked(["uint64", "uint64", "uint64"], [0x0102n, t.expiry, t.cumulativeBytes]),
    word(0xccn), word(0xddn), encodePacked(["uint64", "uint64", "uint64"], [0x0304n, b.ticket.expiry, b.ticket.cumulativeBytes]),
  ]);
  assert.equal(batch, expected);
  assert.equal(size(batch), COMPACT_GROUP_HEADER_SIZE + 2 * COMPACT_TICKET_SIZE);
});

test("any change of a group field starts a new group; the order of tickets is kept", () => {
  const other = getAddress("0x00000000000000000000000000000000000000aa");
  const base = item({ nonce: 1n });
  const variants: RedeemItem[] = [
    item({ nonce: 2n, sender: other }),
    item({ nonce: 3n, faceValue: 5n }),
    { ...item({ nonce: 4n }), ticket: { ...item({ nonce: 4n }).ticket, winProb: 3n } },
    item({ nonce: 5n, rand: 43n }),
    { ...item({ nonce: 6n }), ticket: { ...item({ nonce: 6n }).ticket, sessionId: `0x${"cd".repeat(32)}` } },
  ];
  for (const v of variants) {
    const batch = encodeCompactBatch([base, v, base]);
    assert.equal(size(batch), 3 * COMPACT_GROUP_HEADER_SIZE + 3 * COMPACT_TICKET_SIZE, v.ticket.senderNonce.toString());
    assert.deepEqual(decodeCompactBatch(batch, RECIPIENT), [base, v, base]);
  }
  // Same fields: one group (sender compared case-insensitively, as addresses are).
  const lower = { ...item({ nonce: 2n }), ticket: { ...item({ nonce: 2n }).ticket, sender: base.ticket.sender.toLowerCase() as Address } };
  assert.equal(size(encodeCompactBatch([base, lower])), COMPACT_GROUP_HEADER_SIZE + 2 * COMPACT_TICKET_SIZE);
});

test("a run longer than 255 tickets becomes several groups", () => {
  const run = Array.from({ length: COMPACT_MAX_GROUP + 2 }, (_, i) => item({ nonce: BigInt(i + 1) }));
  const batch = encodeCompactBatch(run);
  assert.equal(size(batch), 2 * COMPACT_GROUP_HEADER_SIZE + run.length * COMPACT_TICKET_SIZE);
  assert.equal(Number(slice(batch, 20, 21)), 255);
  assert.equal(decodeCompactBatch(batch, RECIPIENT).length, run.length);
});

test("encodeCompactBatch refuses what the encoding cannot carry exactly", () => {
  const refuses = (xs: RedeemItem[], index: number, reason: RegExp) =>
    assert.throws(() => encodeCompactBatch(xs), (e: unknown) => e instanceof CompactBatchError && e.index === index && reason.test(e.reason));
  refuses([], 0, /no tickets/);
  const a = item();
  refuses([a, { ...item({ nonce: 8n }), ticket: { ...item({ nonce: 8n }).ticket, recipient: getAddress(`0x${"11".repeat(20)}`) } }], 1, /another recipient/);
  refuses([item({ nonce: MAX_UINT64 + 1n })], 0, /8 bytes/);
  refuses([{ ...a, recipientRand: 43n }], 0, /recipientRand/);
  refuses([{ ...a, recipientRand: MAX_UINT256 + 1n }], 0, /recipientRand/);
  refuses([{ ...a, ticket: { ...a.ticket, expiry: MAX_UINT64 + 1n } }], 0, /uint64/);
  refuses([{ ...a, ticket: { ...a.ticket, faceValue: -1n } }], 0, /uint256/);
  refuses([{ ...a, ticket: { ...a.ticket, sessionId: "0x12" } }], 0, /malformed/);
  // Signatures: exactly the canonical form the broker accepts.
  refuses([{ ...a, signature: sig(1n, SECP256K1_HALF_N + 1n, 27) }], 0, /not canonical: s must be at most n\/2/);
  refuses([{ ...a, signature: concat([word(1n), word(2n), "0x01"]) }], 0, /not canonical: v must be 27 or 28/);
  refuses([{ ...a, signature: concat([word(1n), word(2n)]) }], 0, /not canonical: 64-byte/);
  refuses([{ ...a, signature: sig(0n, 2n, 27) }], 0, /not canonical: r/);
  assert.equal(encodeCompactBatch([item({ nonce: MAX_UINT64 })]).length > 2, true, "2^64 - 1 fits");
});

test("decodeCompactBatch refuses what the broker refuses, naming the byte offset", () => {
  const batch = encodeCompactBatch([item({ nonce: 1n }), item({ nonce: 2n, rand: 9n })]);
  const firstEnd = COMPACT_GROUP_HEADER_SIZE + COMPACT_TICKET_SIZE;
  const refuses = (bytes: Hex, index: number) =>
    assert.throws(() => decodeCompactBatch(bytes, RECIPIENT), (e: unknown) => e instanceof CompactBatchError && e.index === index);
  refuses("0x", 0);
  refuses("0x123", 0);
  for (const len of [1, 20, 21, 148, 149, firstEnd - 1, firstEnd + 1, size(batch) - 1]) {
    refuses(slice(batch, 0, len), len < firstEnd ? 0 : firstEnd);
  }
  refuses(concat([batch, "0x00"]), size(batch));
  const emptyGroup = concat([slice(batch, 0, 20), "0x00", slice(batch, 21, COMPACT_GROUP_HEADER_SIZE)]);
  refuses(emptyGroup, 0);
  assert.equal(decodeCompactBatch(slice(batch, 0, firstEnd), RECIPIENT).length, 1, "whole groups decode");
});

test("the decoded ticket commits to keccak256 of the group's recipientRand", () => {
  const batch = encodeCompactBatch([item({ rand: 0n })]);
  const [decoded] = decodeCompactBatch(batch, RECIPIENT);
  assert.equal(decoded!.ticket.recipientRandHash, keccak256(word(0n)));
});
