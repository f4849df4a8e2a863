import { test } from "node:test";
import assert from "node:assert/strict";
import * as protocol from "./index.ts";

test("the public API exports the agreed names", () => {
  const names = [
    "BaseError", "InvalidSignatureError", "SignerMismatchError", "TicketExpiredError", "TicketNotWinningError",
    "InvalidRecipientRandError", "TicketParamsError", "InvalidTicketError", "RecipientMismatchError",
    "TicketTermsMismatchError", "TicketExpiresTooSoonError", "NativeSecp256k1UnavailableError",
    "ticketTypes", "TICKET_TYPE_STRING", "ticketDomain", "MAX_WIN_PROB", "parseTicket", "serializeTicket",
    "ticketStructHash", "hashTicket", "domainSeparator", "signTicket", "signTicketWith", "normalizeSignature",
    "recoverPublicKey", "recoverAddress", "assertNativeSecp256k1", "recoverTicketSigner", "verifyTicketSignature",
    "recipientRandHash", "isWinningTicket", "expectedValue", "ticketParams", "priceOfBytes", "GIB", "checkTicket",
    "ticketTypedData", "ticketTypedDataJson", "keccak256Bytes", "assertWinningTicket", "assertRecipientRand",
    "sessionRequestTypes", "SESSION_REQUEST_TYPE_STRING", "hashSessionRequest", "signSessionRequest", "verifySessionRequest",
    "parseTokenAmount", "formatTokenAmount", "InvalidAmountError",
    "encodeCompactBatch", "decodeCompactBatch", "CompactBatchError",
  ];
  for (const name of names) assert.ok(name in protocol, name);
  assert.equal(protocol.MAX_WIN_PROB, 2n ** 256n - 1n);
});
