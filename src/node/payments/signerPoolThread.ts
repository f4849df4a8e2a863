import { parentPort, workerData } from "node:worker_threads";
import { hashTicketBytes } from "../../protocol/hashTicket.ts";
import { toHexString } from "../../protocol/hex.ts";
import { recoverAddressFromParts } from "../../protocol/secp256k1.ts";
import { assertCanonicalSignature } from "../../protocol/signature.ts";
import type { SignerReply, SignerRequest } from "./signerPool.ts";

// A signer thread of signerPool.ts: canonical-signature check, EIP-712 digest and native recovery,
// nothing else. Any failure is answered without a signer; the intake names it.

const separator = new Uint8Array((workerData as { domainSeparator: Uint8Array }).domainSeparator);

parentPort!.on("message", (batch: SignerRequest[]) => {
  parentPort!.postMessage(batch.map(recover));
});

function recover({ id, ticket, signature }: SignerRequest): SignerReply {
  try {
    const parts = assertCanonicalSignature(signature);
    const digest = hashTicketBytes(ticket, separator);
    return { id, signer: recoverAddressFromParts(digest, signature, parts), digest: toHexString(digest) };
  } catch {
    return { id }; // malformed or unrecoverable: no signer
  }
}
