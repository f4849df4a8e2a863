import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { ModelError } from "./ModelError.ts";
import { parseModel, parseModelText } from "./parseModel.ts";

const presetPath = (name: string) => new URL(`../../models/${name}.yaml`, import.meta.url).pathname;
const bandmintRaw = (): Record<string, any> => parse(readFileSync(presetPath("bandmint"), "utf8"));

function expectModelError(raw: unknown, field: string, reason: RegExp): ModelError {
  let caught: unknown;
  try {
    parseModel(raw, "models/x.yaml");
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ModelError, `expected a ModelError, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.match(caught.reason, reason);
  assert.ok(caught.shortMessage.startsWith(`models/x.yaml: ${field}: `), caught.shortMessage);
  return caught;
}

test("every preset parses, with token amounts in wei", () => {
  for (const name of ["bandmint", "helium-like", "self-reported", "livepeer-like"]) {
    const model = parseModelText(readFileSync(presetPath(name), "utf8"), `models/${name}.yaml`);
    assert.equal(typeof model.token.cap, "bigint");
    assert.equal(model.token.cap, 1_000_000_000n * 10n ** 18n);
  }
  const bandmint = parseModel(bandmintRaw(), "b.yaml");
  assert.equal(bandmint.rewards.basis, "paid");
  assert.equal(bandmint.emission.initial, 120_000n * 10n ** 18n);
  assert.equal(bandmint.pricing.perGiB, 5_000_000n); // USD 0.005 in nano-USD, exactly
});

test("a decayBps above 10000 is named with its path and the file", () => {
  const raw = bandmintRaw();
  raw.emission.decayBps = 10_001;
  const error = expectModelError(raw, "emission.decayBps", /must be <= 10000/);
  assert.equal(error.shortMessage, "models/x.yaml: emission.decayBps: must be <= 10000");
});

test("nested array fields, unknown keys, bad amounts and cross-field rules name the field", () => {
  let raw = bandmintRaw();
  raw.providers.cohorts[1].count = -3;
  expectModelError(raw, "providers.cohorts.1.count", /must be >= 0/);

  raw = bandmintRaw();
  raw.emission.decayBPS = 5000;
  expectModelError(raw, "emission", /unknown field\(s\) decayBPS/);

  raw = bandmintRaw();
  raw.token.cap = "1e-19"; // finer than a wei
  expectModelError(raw, "token.cap", /non-negative decimal token amount/);

  raw = bandmintRaw();
  raw.fees = { burnBps: 9000, treasuryBps: 2000 };
  expectModelError(raw, "fees.treasuryBps", /burnBps \+ treasuryBps must be <= 10000/);

  raw = bandmintRaw();
  raw.rewards.basis = "vibes";
  expectModelError(raw, "rewards.basis", /must be one of/);

  raw = bandmintRaw();
  raw.token.genesisSupply = "2000000000";
  expectModelError(raw, "token.genesisSupply", /must be <= token.cap/);
});

test("kBps accepts 'none' (no cap, for comparison) and defaults when absent", () => {
  const raw = bandmintRaw();
  raw.rewards.kBps = "none";
  assert.equal(parseModel(raw, "x.yaml").rewards.kBps, "none");
  delete raw.rewards.kBps;
  assert.equal(parseModel(raw, "x.yaml").rewards.kBps, 8000);
});

test("unreadable YAML and JSON are ModelErrors naming the file", () => {
  assert.throws(() => parseModelText("name: [unclosed", "models/bad.yaml"), (e: unknown) => e instanceof ModelError && /^models\/bad\.yaml: not valid YAML/.test(e.shortMessage));
  assert.throws(() => parseModelText("{", "m.json"), (e: unknown) => e instanceof ModelError && /^m\.json: not valid JSON/.test(e.shortMessage));
});

test("providers.mode chooses the simulation: cohort by default, individual on request, anything else named", () => {
  assert.equal(parseModel(bandmintRaw(), "b.yaml").providers.mode, "cohort");
  let raw = bandmintRaw();
  raw.providers.mode = "individual";
  assert.equal(parseModel(raw, "b.yaml").providers.mode, "individual");

  raw = bandmintRaw();
  raw.providers.mode = "per-provider";
  const error = expectModelError(raw, "providers.mode", /must be cohort or individual/);
  assert.equal(error.shortMessage, "models/x.yaml: providers.mode: must be cohort or individual");

  raw = bandmintRaw();
  raw.providers.mode = "individual";
  raw.providers.cohorts[0].count = 20_000_000;
  expectModelError(raw, "providers.mode", /at most 10,000,000 providers \(got 20,005,000\); use mode: cohort/);
});
