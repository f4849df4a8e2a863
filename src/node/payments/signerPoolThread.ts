import { workerData } from "node:worker_threads";
import { toHexString } from "../../protocol/hex.ts";
import { recoverTicketSignerAndDigest } from "../../protocol/recoverTicketSigner.ts";
import { selectSecp256k1Backend } from "../../protocol/secp256k1.ts";
import type { SignerReply, SignerRequest, SignerThreadData } from "./signerPool.ts";
import { serveThread } from "./workerThread.ts";

// A signer thread of signerPool.ts: canonical-signature check, EIP-712 digest and recovery (native or JavaScript, as the main thread chose),
// nothing else. Any failure is answered without a signer; the intake names it.

const data = workerData as SignerThreadData;
const separator = new Uint8Array(data.domainSeparator);
// The main thread's backend: "native" throws here if this thread cannot load the binding, and
// the pool then answers without a signer, so the intake checks inline rather than differently.
selectSecp256k1Backend(data.secp256k1);

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
