import { workerData } from "node:worker_threads";
import { toHexString } from "../../protocol/hex.ts";
import { recoverTicketSignerAndDigest } from "../../protocol/recoverTicketSigner.ts";
import type { SignerReply, SignerRequest } from "./signerPool.ts";
import { serveThread } from "./workerThread.ts";

// A signer thread of signerPool.ts: canonical-signature check, EIP-712 digest and native recovery,
// nothing else. Any failure is answered without a signer; the intake names it.

const separator = new Uint8Array((workerData as { domainSeparator: Uint8Array }).domainSeparator);

serveThread<SignerRequest[], SignerReply[]>((batch) =>
  batch.map(({ id, ticket, signature }) => {
    try {
      const { signer, digest } = recoverTicketSignerAndDigest(ticket, separator, signature);
      return { id, signer, digest: toHexString(digest) };
    } catch {
      return { id }; // malformed or unrecoverable: no signer
    }
  }),
);
