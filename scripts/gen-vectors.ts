// Generates test/vectors/tickets.json, the ticket vectors shared by the TypeScript and Solidity
// tests (docs/PROTOCOL.md). Deterministic: fixed keys, broker, chain id and tickets, and RFC 6979
// signatures, so re-running it reproduces the committed file byte for byte
// (src/protocol/vectors.test.ts checks that). Run: npx node scripts/gen-vectors.ts
//
// Invariants every vector keeps, so consumers may rely on them: recipientRandHash ==
// keccak256(uint256 recipientRand); signer is the ecrecover result when signatureValid, else the
// zero address; a ticket is redeemable iff signatureValid && signer == sender && winning && !expired.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  MAX_UINT256,
  MAX_UINT64,
  MAX_WIN_PROB,
  SECP256K1_N,
  domainSeparator,
  hashTicket,
  isCanonicalSignature,
  isWinningTicket,
  recipientRandHash,
  recoverTicketSigner,
  serializeTicket,
  signTicket,
  ticketDomain,
  ticketDraw,
  ticketParams,
  ticketStructHash,
  type Ticket,
  type TicketJson,
} from "../src/protocol/index.ts";

/** Path of the committed vectors file. */
export const VECTORS_PATH = fileURLToPath(new URL("../test/vectors/tickets.json", import.meta.url));

const SENDER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"; // Hardhat #0
const OTHER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // Hardhat #1
const RECIPIENT: Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"; // Hardhat #2
const BROKER: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN_ID = 31337;
const NOW = 1_800_000_000n;
const RAND = 0x5eed_5eed_5eed_5eed_5eed_5eed_5eed_5eedn;

/** One vector in the committed format (the Solidity tests decode exactly these fields). */
export type TicketVector = {
  name: string;
  ticket: TicketJson;
  recipientRand: string;
  structHash: Hex;
  digest: Hex;
  signature: Hex;
  signatureValid: boolean;
  signer: Address;
  winning: boolean;
  now: string;
  expired: boolean;
};

/** The whole vectors file. */
export type TicketVectorsFile = {
  domain: { name: string; version: string; chainId: number; verifyingContract: Address };
  domainSeparator: Hex;
  vectors: TicketVector[];
};

const domain = ticketDomain(CHAIN_ID, BROKER);
const sender = privateKeyToAccount(SENDER_KEY).address;
const other = privateKeyToAccount(OTHER_KEY).address;

function baseTicket(rand: bigint, overrides: Partial<Ticket> = {}): Ticket {
  return {
    recipient: RECIPIENT,
    sender,
    faceValue: 10n ** 18n,
    winProb: 2n ** 255n,
    senderNonce: 1n,
    recipientRandHash: recipientRandHash(rand),
    expiry: NOW + 3600n,
    sessionId: `0x${"5e".repeat(32)}`,
    cumulativeBytes: 1n << 20n,
    ...overrides,
  };
}

function vector(name: string, ticket: Ticket, signature: Hex, rand: bigint, now: bigint = NOW): TicketVector {
  let signer: Address = zeroAddress;
  let signatureValid = false;
  if (isCanonicalSignature(signature)) {
    try {
      signer = recoverTicketSigner(ticket, domain, signature);
      signatureValid = true;
    } catch {
      // Canonical form but no recoverable key: invalid, signer stays zero.
    }
  }
  return {
    name,
    ticket: serializeTicket(ticket),
    recipientRand: rand.toString(),
    structHash: ticketStructHash(ticket),
    digest: hashTicket(ticket, domain),
    signature,
    signatureValid,
    signer,
    winning: isWinningTicket(signature, rand, ticket.winProb),
    now: now.toString(),
    expired: now > ticket.expiry,
  };
}

async function signed(name: string, ticket: Ticket, rand = RAND, now = NOW, key = SENDER_KEY): Promise<TicketVector> {
  return vector(name, ticket, await signTicket({ ticket, domain, privateKey: key }), rand, now);
}

/** First nonce from 1 whose canonical signature satisfies `accept` (deterministic search). */
async function findNonce(rand: bigint, overrides: Partial<Ticket>, accept: (sig: Hex, t: Ticket) => boolean): Promise<[Ticket, Hex]> {
  for (let nonce = 1n; nonce < 10_000n; nonce++) {
    const ticket = baseTicket(rand, { ...overrides, senderNonce: nonce });
    const sig = await signTicket({ ticket, domain, privateKey: SENDER_KEY });
    if (accept(sig, ticket)) return [ticket, sig];
  }
  throw new Error("no nonce found");
}

function highS(sig: Hex): Hex {
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  return `${sig.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, "0")}${sig.endsWith("1b") ? "1c" : "1b"}` as Hex;
}

/** Builds the vectors file content (the exact text written to disk). */
export async function generateVectors(): Promise<string> {
  const vectors: TicketVector[] = [];
  const basic = baseTicket(RAND);
  const basicSig = await signTicket({ ticket: basic, domain, privateKey: SENDER_KEY });
  vectors.push(vector("basic", basic, basicSig, RAND));

  vectors.push(await signed("winProb-zero-never-wins", baseTicket(RAND, { winProb: 0n })));
  vectors.push(await signed("winProb-max-wins", baseTicket(RAND, { winProb: MAX_WIN_PROB })));

  // A valid signature fixes the draw, and the draw would change with winProb, so the boundary
  // tickets reuse the basic ticket's (canonical, recoverable) signature: signatureValid is true
  // but the signer is not the sender. They pin the comparison, not redeemability.
  const draw = ticketDraw(basicSig, RAND);
  vectors.push(vector("winProb-equals-draw-loses (foreign signature)", { ...basic, winProb: draw }, basicSig, RAND));
  vectors.push(vector("winProb-draw-plus-one-wins (foreign signature)", { ...basic, winProb: draw + 1n }, basicSig, RAND));

  const [winT, winSig] = await findNonce(RAND, { winProb: 2n ** 254n }, (sig, t) => isWinningTicket(sig, RAND, t.winProb));
  vectors.push(vector("quarter-winProb-winning", winT, winSig, RAND));
  const [loseT, loseSig] = await findNonce(RAND, { winProb: 2n ** 254n }, (sig, t) => !isWinningTicket(sig, RAND, t.winProb));
  vectors.push(vector("quarter-winProb-losing", loseT, loseSig, RAND));

  vectors.push(await signed("faceValue-zero", baseTicket(RAND, { faceValue: 0n })));
  vectors.push(await signed("faceValue-max-uint256", baseTicket(RAND, { faceValue: MAX_UINT256 })));
  const expiring = baseTicket(RAND, { expiry: NOW });
  vectors.push(await signed("expiry-now-equals-expiry-valid", expiring, RAND, NOW));
  vectors.push(await signed("expiry-now-after-expiry-expired", expiring, RAND, NOW + 1n));
  vectors.push(await signed("expiry-max-uint64", baseTicket(RAND, { expiry: MAX_UINT64 })));
  vectors.push(await signed("senderNonce-zero", baseTicket(RAND, { senderNonce: 0n })));
  vectors.push(await signed("senderNonce-max-uint256", baseTicket(RAND, { senderNonce: MAX_UINT256 })));
  vectors.push(await signed("cumulativeBytes-zero", baseTicket(RAND, { cumulativeBytes: 0n })));
  vectors.push(await signed("cumulativeBytes-max-uint64", baseTicket(RAND, { cumulativeBytes: MAX_UINT64 })));
  vectors.push(await signed("recipientRand-zero", baseTicket(0n), 0n));
  vectors.push(await signed("recipientRand-max-uint256", baseTicket(MAX_UINT256), MAX_UINT256));
  vectors.push(await signed("sessionId-zero", baseTicket(RAND, { sessionId: `0x${"00".repeat(32)}` })));
  vectors.push(await signed("sessionId-all-ff", baseTicket(RAND, { sessionId: `0x${"ff".repeat(32)}` })));
  vectors.push(await signed("other-sender-signs-own-ticket", baseTicket(RAND, { sender: other }), RAND, NOW, OTHER_KEY));
  vectors.push(await signed("signer-not-sender", basic, RAND, NOW, OTHER_KEY));

  const params = ticketParams({ pricePerGiB: 10n ** 16n, bytesPerTicket: 1n << 20n, faceValue: 10n ** 15n });
  vectors.push(await signed("priced-1MiB-at-0.01-per-GiB", baseTicket(RAND, { faceValue: params.faceValue, winProb: params.winProb })));

  vectors.push(vector("high-s-invalid", basic, highS(basicSig), RAND));
  const [v27T, v27Sig] = await findNonce(RAND, {}, (sig) => sig.endsWith("1b"));
  vectors.push(vector("v-0-invalid", v27T, `${v27Sig.slice(0, 130)}00` as Hex, RAND));
  const [v28T, v28Sig] = await findNonce(RAND, {}, (sig) => sig.endsWith("1c"));
  vectors.push(vector("v-1-invalid", v28T, `${v28Sig.slice(0, 130)}01` as Hex, RAND));
  vectors.push(vector("v-29-invalid", v28T, `${v28Sig.slice(0, 130)}1d` as Hex, RAND));
  vectors.push(vector("compact-64-byte-invalid", basic, basicSig.slice(0, 130) as Hex, RAND));
  vectors.push(vector("r-zero-invalid", basic, `0x${"00".repeat(32)}${basicSig.slice(66)}` as Hex, RAND));
  vectors.push(vector("s-zero-invalid", basic, `${basicSig.slice(0, 66)}${"00".repeat(32)}${basicSig.slice(130)}` as Hex, RAND));

  const file: TicketVectorsFile = {
    domain: { name: domain.name, version: domain.version, chainId: CHAIN_ID, verifyingContract: domain.verifyingContract },
    domainSeparator: domainSeparator(domain),
    vectors,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(VECTORS_PATH, await generateVectors());
  console.log(`wrote ${VECTORS_PATH}`);
}
