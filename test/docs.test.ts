// Keeps the protocol docs and the code from drifting apart where a machine can tell: error names
// and statuses, the JSON examples (parsed by the wire parsers and recomputed from their inputs),
// limits, fee shares, the unlock arithmetic and the README's commands. When one of these fails,
// change the doc and the code together; the message says which file holds which side.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { getContractAddress, type Hex } from "viem";
import { devAccount } from "../src/chain/devAccounts.ts";
import { defaultDeployParameters } from "../src/chain/deploy.ts";
import deployCommand from "../src/cli/commands/deploy.ts";
import startCommand from "../src/cli/commands/start.ts";
import { clientErrorStatus, expectationFailed, malformedRequest } from "../src/http/serverLifecycle.ts";
import { loadNodeConfig } from "../src/node/config.ts";
import { HEADERS_TIMEOUT_MS } from "../src/node/providerNode.ts";
import { REFUSAL_BURST, REFUSALS_PER_SECOND } from "../src/node/payments/refusalBudget.ts";
import { buildOffer } from "../src/node/payments/buildOffer.ts";
import { PaymentRequiredError, TicketNonceError } from "../src/node/payments/errors.ts";
import { paymentErrorResponse, paymentErrorStatus } from "../src/node/payments/paymentErrorStatus.ts";
import { EXPIRY_SKEW_SECONDS, expiryBounds, WITHDRAW_MARGIN_SECONDS } from "../src/node/payments/ticketIntake.ts";
import { canonicalManifest, parseManifest, verifyManifest, type UnsignedManifest } from "../src/protocol/manifest.ts";
import * as wire from "../src/protocol/wire.ts";

const root = new URL("../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");
const payments = read("docs/protocol/payments.md");
const relay = read("docs/protocol/relay.md");
const protocol = read("docs/PROTOCOL.md");
const readme = read("README.md");
const n = (x: bigint | number): string => x.toLocaleString("en-US");

/** The text of `doc` from the line starting with `from` up to the next line starting with `to`. */
function section(doc: string, from: string, to: string, file: string): string {
  const start = doc.indexOf(`\n${from}`);
  assert.ok(start >= 0, `${file}: no heading "${from}" (renamed? update test/docs.test.ts with it)`);
  const end = doc.indexOf(`\n${to}`, start + 1);
  assert.ok(end >= 0, `${file}: no "${to}" after "${from}"`);
  return doc.slice(start, end);
}

/** `| \`Name\` | 400 | ...` rows of a markdown table: every backticked name of the first cell, with the status. */
function statusRows(text: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of text.matchAll(/^\| (.+?) \| (\d{3}) \|/gm)) {
    for (const name of m[1]!.matchAll(/`(\w+)`/g)) rows.set(name[1]!, Number(m[2]));
  }
  return rows;
}

const sorted = (m: Map<string, number> | Record<string, number>) => Object.fromEntries((m instanceof Map ? [...m] : Object.entries(m)).sort());

test("payments.md §4 and relay.md §5: the error tables are the node's status table (src/node/payments/paymentErrorStatus.ts)", () => {
  const table = statusRows(section(payments, "## 4. Errors", "### 4.1", "docs/protocol/payments.md"));
  for (const [name, status] of statusRows(section(relay, "## 5. Refusals", "## 6.", "docs/protocol/relay.md"))) {
    // WireFormatError is in both tables; everything else is in exactly one.
    assert.ok(!table.has(name) || table.get(name) === status, `${name}: payments.md §4 says ${table.get(name)}, relay.md §5 says ${status}`);
    table.set(name, status);
  }
  assert.deepEqual(sorted(table), sorted(paymentErrorStatus), "docs/protocol/payments.md §4 + relay.md §5 and paymentErrorStatus.ts disagree: a name or status changed on one side only");
});

test("payments.md §4.2: the parser-error table is serverLifecycle.ts's (clientErrorStatus, malformedRequest, expectationFailed)", () => {
  const table = statusRows(section(payments, "### 4.2", "## 5.", "docs/protocol/payments.md"));
  const code = new Map<string, number>([...Object.values(clientErrorStatus), malformedRequest, expectationFailed].map((e) => [e.error, e.status]));
  assert.deepEqual(sorted(table), sorted(code), "docs/protocol/payments.md §4.2 and src/http/serverLifecycle.ts disagree");
});

test("every status given next to an error name in the payment docs is the one the code answers", () => {
  const statusOf = new Map<string, number>([...Object.entries(paymentErrorStatus), ...[...Object.values(clientErrorStatus), malformedRequest, expectationFailed].map((e) => [e.error, e.status] as const)]);
  const wrong: string[] = [];
  for (const [pattern, nameAt, statusAt] of [[/(\d{3}) `(\w+Error)`/g, 2, 1], [/`(\w+Error)` \((\d{3})\)/g, 1, 2]] as const) {
    for (const m of payments.matchAll(pattern)) {
      const name = m[nameAt]!;
      const status = Number(m[statusAt]);
      // Only names of the payment layer: content errors have their own table in content.md.
      if (statusOf.has(name) && statusOf.get(name) !== status) wrong.push(`"${m[0]}" but the code answers ${statusOf.get(name)}`);
    }
  }
  assert.deepEqual(wrong, [], "docs/protocol/payments.md prose disagrees with the status tables");
});

test("every error name the docs mention exists in the code (a class name or an answered literal)", () => {
  const sources: string[] = [];
  const walk = (dir: URL): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir));
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) sources.push(readFileSync(new URL(entry.name, dir), "utf8"));
    }
  };
  walk(new URL("src/", root));
  const known = new Set(sources.flatMap((s) => [...s.matchAll(/"(\w+Error)"/g)].map((m) => m[1]!)));
  const docs = ["docs/PROTOCOL.md", ...readdirSync(new URL("docs/protocol/", root)).map((f) => `docs/protocol/${f}`)];
  const missing = docs.flatMap((file) => [...read(file).matchAll(/`(\w+Error)`/g)].map((m) => m[1]!).filter((name) => !known.has(name)).map((name) => `${file}: ${name}`));
  assert.deepEqual([...new Set(missing)], [], "these error names are in the docs but no code answers them (renamed or removed?)");
  // Every name in a status table is the literal `name` of an error class of the same name.
  for (const name of Object.keys(paymentErrorStatus)) {
    assert.ok(sources.some((s) => new RegExp(`class ${name} extends \\w+ \\{\\s*override name = "${name}"`).test(s)), `${name}: no error class "class ${name} ... { override name = "${name}" }" in src/`);
  }
});

type Example = { file: string; marker: string; json: unknown; line: number };

/** Every ```json block of docs/protocol/*.md with the `<!-- example: X -->` marker on the line before it. */
function examples(): Example[] {
  const out: Example[] = [];
  for (const name of readdirSync(new URL("docs/protocol/", root)).filter((f) => f.endsWith(".md"))) {
    const file = `docs/protocol/${name}`;
    const text = read(file);
    for (const m of text.matchAll(/(?:<!-- example: (\w+) -->\n)?```json\n([\s\S]*?)```/g)) {
      const line = text.slice(0, m.index).split("\n").length;
      // The pages whose shapes live in src/protocol must mark every example; others may.
      if (m[1] === undefined) {
        assert.ok(name !== "payments.md" && name !== "content.md", `${file}:${line}: a JSON example without "<!-- example: <parser> -->" on the line before it`);
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(m[2]!);
      } catch (error) {
        assert.fail(`${file}:${line}: the example is not valid JSON: ${(error as Error).message}`);
      }
      out.push({ file, marker: m[1], json, line });
    }
  }
  return out;
}

/** Rebuilds an error body from its documented details, as the node would answer it. */
const errorBuilders: Record<string, (details: Record<string, unknown>) => Error> = {
  PaymentRequiredError: (d) => new PaymentRequiredError(wire.parsePaymentRequiredDetails(d)),
  TicketNonceError: (d) => new TicketNonceError({ nonce: BigInt(d.nonce as string), lastNonce: BigInt(d.lastNonce as string), duplicate: d.duplicate as boolean }),
};

test("every JSON example in docs/protocol parses with its parser (and error examples are what the node sends)", async () => {
  const all = examples();
  assert.ok(all.length >= 8, `only ${all.length} marked examples found`);
  for (const { file, marker, json, line } of all) {
    const where = `${file}:${line} (${marker})`;
    try {
      if (marker === "json") continue;
      if (marker === "verifyManifest") {
        await verifyManifest(parseManifest(json));
      } else if (marker === "error") {
        const body = wire.parseWireError(json);
        assert.ok(body.error in paymentErrorStatus, `${where}: "${body.error}" is not in paymentErrorStatus`);
        const build = errorBuilders[body.error];
        if (build !== undefined) assert.deepEqual(json, paymentErrorResponse(build(body.details ?? {})).body, `${where}: the node would answer this body instead`);
      } else {
        const parse = (wire as Record<string, unknown>)[marker];
        assert.equal(typeof parse, "function", `${where}: no parser "${marker}" in src/protocol/wire.ts`);
        (parse as (j: unknown) => unknown)(json);
      }
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.fail(`${where}: ${(error as Error).message}`);
    }
  }
});

test("payments.md's examples are one consistent exchange, computed as the node computes it", () => {
  const byMarker = (marker: string) => examples().filter((e) => e.file.endsWith("payments.md") && e.marker === marker).map((e) => e.json);
  const [offerJson] = byMarker("parseOffer");
  const offer = wire.parseOffer(offerJson);
  // The offer is what buildOffer makes of its own terms (faceValue, winProb, expectedValue, minDeposit).
  const built = buildOffer({ ...offer, faceValue: offer.faceValue });
  assert.deepEqual(offerJson, wire.serializeOffer(built), "§1.1: the offer example is not what buildOffer computes from its pricePerGiB, bytesPerTicket and faceValue");
  // Placeholders, not the local network's accounts or contracts (payments.md §1).
  const real = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const from = devAccount(i).address; // derived from the mnemonic: slow, so once per account
    real.add(from.toLowerCase());
    for (let nonce = 0n; nonce < 32n; nonce++) real.add(getContractAddress({ from, nonce }).toLowerCase());
  }
  for (const address of [offer.recipient, offer.broker]) assert.ok(!real.has(address.toLowerCase()), `§1.1: ${address} is a local-network account or contract address; use a placeholder`);

  const request = wire.parseSessionRequest(byMarker("parseSessionRequest")[0]);
  assert.ok(!real.has(request.sender.toLowerCase()), `§1.2: ${request.sender} is a local-network address`);
  const session = wire.parseOpenedSession(byMarker("parseOpenedSession")[0]);
  const bounds = expiryBounds(offer, request.timestamp);
  assert.deepEqual(
    { sender: session.sender, recipient: session.recipient, broker: session.broker, chainId: session.chainId, faceValue: session.faceValue, winProb: session.winProb, pricePerGiB: session.pricePerGiB, bytesPerTicket: session.bytesPerTicket, creditWindowBytes: session.creditWindowBytes, minExpiry: session.minExpiry, maxExpiry: session.maxExpiry },
    { sender: request.sender, recipient: offer.recipient, broker: offer.broker, chainId: offer.chainId, faceValue: offer.faceValue, winProb: offer.winProb, pricePerGiB: offer.pricePerGiB, bytesPerTicket: offer.bytesPerTicket, creditWindowBytes: offer.creditWindowBytes, ...bounds },
    "§1.2: the session example does not follow from the offer and the request (expiryBounds at the request's timestamp)",
  );

  const { ticket } = wire.parseTicketPayment(byMarker("parseTicketPayment")[0]);
  assert.deepEqual(
    { recipient: ticket.recipient, sender: ticket.sender, faceValue: ticket.faceValue, winProb: ticket.winProb, senderNonce: ticket.senderNonce, recipientRandHash: ticket.recipientRandHash, sessionId: ticket.sessionId, expiry: ticket.expiry },
    { recipient: session.recipient, sender: session.sender, faceValue: session.faceValue, winProb: session.winProb, senderNonce: session.nextNonce, recipientRandHash: session.recipientRandHash, sessionId: session.sessionId, expiry: request.timestamp + BigInt(offer.ticketExpirySeconds) },
    "§2.2: the ticket example is not the session's first ticket with expiry = now + ticketExpirySeconds",
  );

  const paymentRequired = byMarker("error").find((e) => (e as { error?: string }).error === "PaymentRequiredError");
  assert.ok(paymentRequired !== undefined, "§3: the 402 PaymentRequiredError example is gone");
  const details = wire.parsePaymentRequiredDetails(wire.parseWireError(paymentRequired).details);
  const unpaid = details.servedBytes + details.inFlightBytes - details.paidBytes;
  assert.equal(details.minCumulativeBytes, details.paidBytes + unpaid + details.requestedBytes - details.creditWindowBytes, "§3: minCumulativeBytes does not follow its formula");
  assert.equal(details.sessionId, session.sessionId);
});

test("payments.md §4.1 and §2.2 state the limits the code enforces", () => {
  const limits = section(payments, "### 4.1", "### 4.2", "docs/protocol/payments.md");
  const row = (start: string): string => {
    const r = limits.split("\n").find((l) => l.startsWith(`| ${start}`));
    assert.ok(r !== undefined, `payments.md §4.1: no row starting "${start}"`);
    return r;
  };
  const server = createServer();
  const expect = [
    [row("request body"), n(wire.MAX_REQUEST_BODY_BYTES), "MAX_REQUEST_BODY_BYTES"],
    [row("tickets per"), `1 to ${wire.MAX_TICKETS_PER_BATCH}`, "MAX_TICKETS_PER_BATCH"],
    [row("one entry of"), n(wire.MAX_TICKET_HEADER_ENTRY_CHARS), "MAX_TICKET_HEADER_ENTRY_CHARS"],
    [row("request head"), n(wire.MAX_REQUEST_HEAD_BYTES), "MAX_REQUEST_HEAD_BYTES"],
    [row("time to receive a request's head"), `${HEADERS_TIMEOUT_MS / 1000} s on the node`, "HEADERS_TIMEOUT_MS"],
    [row("time to receive a request's head"), `${server.headersTimeout / 1000} s on the gateway`, "node:http headersTimeout"],
    [row("time to receive the body"), `${wire.REQUEST_BODY_TIMEOUT_SECONDS} s`, "REQUEST_BODY_TIMEOUT_SECONDS"],
    [row("time to receive a whole request"), `${server.requestTimeout / 1000} s`, "node:http requestTimeout"],
    [row("refused ticket requests per sender"), `${REFUSAL_BURST} at once, then one a second`, "REFUSAL_BURST, REFUSALS_PER_SECOND"],
  ] as const;
  for (const [text, value, source] of expect) assert.ok(text.includes(value), `payments.md §4.1 "${text}" should say ${value} (${source})`);
  assert.equal(REFUSALS_PER_SECOND, 1, "payments.md §4.1 says one refused ticket request a second comes back");
  const header = section(payments, "### 2.2", "### 2.3", "docs/protocol/payments.md");
  assert.ok(header.includes(`${n(wire.MAX_TICKET_HEADER_ENTRY_CHARS)} characters`), "§2.2 must state the per-ticket header cap");
  assert.ok(header.includes(`${wire.MAX_REQUEST_HEAD_BYTES / 1024} KiB`), "§2.2 must state the request head limit");
});

test("PROTOCOL.md's fee split and payout example are the deployment defaults and the broker's arithmetic", () => {
  const fees = section(protocol, "### What a winning ticket pays", "### Replay protection", "docs/PROTOCOL.md");
  const { burnBps, treasuryBps } = defaultDeployParameters;
  for (const [name, bps] of [["burnBps", burnBps], ["treasuryBps", treasuryBps]] as const) {
    assert.ok(fees.includes(`\`${name} = ${bps}\`: ${bps / 100} %`), `PROTOCOL.md: "${name} = ${bps}: ${bps / 100} %" (src/chain/deploy.ts defaultDeployParameters)`);
  }
  assert.ok(fees.includes(`| ${100 - (burnBps + treasuryBps) / 100} % |`), "PROTOCOL.md: the recipient's default share");
  for (const flag of ["burn-bps", "treasury-bps"]) assert.ok(flag in deployCommand.options && fees.includes(`--${flag}`), `bandmint deploy --${flag}`);
  const face = 10n ** 17n;
  const burned = (face * BigInt(burnBps)) / 10_000n;
  const treasury = (face * BigInt(treasuryBps)) / 10_000n;
  for (const amount of [face, burned, treasury, face - burned - treasury]) assert.ok(fees.includes(amount.toString()), `PROTOCOL.md payout example: ${amount} wei`);
});

test("payments.md's unlock paragraph has the numbers the defaults give", async () => {
  const config = await loadNodeConfig({ flags: { deployment: "d.json", "data-dir": "d", "price-per-gib": "1" }, env: { BANDMINT_KEY: `0x${"11".repeat(32)}` } });
  const expiry = BigInt(config.ticketExpirySeconds);
  const unlock = defaultDeployParameters.unlockPeriod;
  const margin = WITHDRAW_MARGIN_SECONDS;
  const text = section(payments, "**When the unlock rule", "**Acknowledgement granularity", "docs/protocol/payments.md");
  const hm = (s: bigint) => (s % 3600n === 0n ? `${s / 3600n} h` : `${s / 3600n} h ${(s % 3600n) / 60n} min`);
  const starts = unlock - expiry - margin;
  const expected = [
    `${n(unlock)} s`, `${n(expiry)} s`, `expiry + ${margin}`, `now + ${n(expiry)} + ${n(margin)}`, `${n(starts)} s (${hm(starts)})`,
    hm(unlock - expiry - EXPIRY_SKEW_SECONDS - margin), hm(unlock - expiry / 2n - margin), `now + ${n(expiry + EXPIRY_SKEW_SECONDS)}`, `now + ${n(expiry / 2n)}`, hm(expiry + margin),
  ];
  for (const s of expected) assert.ok(text.includes(s), `payments.md unlock paragraph should contain "${s}" (defaults: unlockPeriod ${unlock}, ticketExpirySeconds ${expiry}, margin ${margin})`);
});

test("PROTOCOL.md states no vector count that differs from test/vectors/tickets.json", () => {
  const count = (JSON.parse(read("test/vectors/tickets.json")) as { vectors: unknown[] }).vectors.length;
  for (const m of protocol.matchAll(/(\d+) (?:test )?vectors/g)) assert.equal(Number(m[1]), count, `PROTOCOL.md says ${m[0]}; the file has ${count}`);
});

test("content.md's canonical-serialization example is what canonicalManifest writes", () => {
  const m = /Example for one empty file `a`[\s\S]*?`(".*?")`/.exec(read("docs/protocol/content.md"));
  assert.ok(m, "content.md: the canonical example is gone");
  const text = JSON.parse(m[1]!) as string;
  const manifest: UnsignedManifest = { version: 1, chunkSize: 1024, createdAt: 1, publisher: "0x0000000000000000000000000000000000000001", files: [{ path: "a", size: 0n, mediaType: "application/octet-stream", chunks: [] }] };
  assert.equal(text, canonicalManifest(manifest), "content.md §2: the example text is not canonicalManifest's output");
});

test("README: npm start's flags are documented with their defaults, and every npm script it names exists", () => {
  for (const [name, option] of Object.entries(startCommand.options)) {
    assert.ok(readme.includes(`| \`--${name}\` | \`${String(option.default)}\` |`), `README.md: a row "| \`--${name}\` | \`${String(option.default)}\` |" for npm start (src/cli/commands/start.ts)`);
  }
  const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
  for (const file of ["README.md", "docs/ARCHITECTURE.md", "docs/PROTOCOL.md", "docs/TOKENOMICS.md"]) {
    for (const m of read(file).matchAll(/npm run ([\w:-]+)/g)) assert.ok(m[1]! in scripts, `${file}: "npm run ${m[1]}" but package.json has no such script`);
  }
});

test("payments.md conventions: bytes32 hex in either case parses to the same lower-case value", () => {
  const session = examples().find((e) => e.marker === "parseOpenedSession")!.json as Record<string, string>;
  const upper = Object.fromEntries(Object.entries(session).map(([k, v]) => [k, typeof v === "string" && /^0x[0-9a-f]{64}$/.test(v) ? `0x${v.slice(2).toUpperCase()}` : v]));
  assert.deepEqual(wire.parseOpenedSession(upper), wire.parseOpenedSession(session));
  assert.equal(wire.parseSessionId(`0x${"AB".repeat(32)}` as Hex), `0x${"ab".repeat(32)}`);
});
