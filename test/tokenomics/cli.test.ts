// The `bandmint sim` and `bandmint evaluate` commands end to end, on shortened copies of the presets.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { parse, stringify } from "yaml";
import evaluate from "../../src/cli/commands/evaluate.ts";
import sim from "../../src/cli/commands/sim.ts";
import type { CommandArgs } from "../../src/cli/command.ts";
import { ModelError } from "../../src/tokenomics/ModelError.ts";

let dir: string;
const models = new URL("../../models/", import.meta.url);

/** A copy of a preset, shortened to `epochs`, in the temp dir. */
async function shortPreset(name: string, epochs: number): Promise<string> {
  const raw = parse(await readFile(new URL(`${name}.yaml`, models), "utf8"));
  raw.epochs = epochs;
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, stringify(raw));
  return path;
}

function sink(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

function args(values: CommandArgs["values"], positionals: string[], out = sink()): CommandArgs {
  return { values, positionals, signal: new AbortController().signal, stdout: out.stream, stderr: sink().stream };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bandmint-sim-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("sim writes epochs.csv, epochs.json, summary.json and a self-contained report.html with the charts", async () => {
  const model = await shortPreset("bandmint", 200);
  const out = join(dir, "run");
  const stdout = sink();
  assert.equal(await sim.run(args({ out }, [model], stdout)), 0);
  assert.match(stdout.text(), /bandmint: 200 epochs \(cohort mode\)/);
  for (const f of ["epochs.csv", "epochs.json", "summary.json", "report.html"]) assert.ok(existsSync(join(out, f)), f);

  const csv = (await readFile(join(out, "epochs.csv"), "utf8")).trim().split("\n");
  assert.equal(csv.length, 201);
  assert.match(csv[0] ?? "", /^epoch,tokenPrice,providers,demandGiB,/);
  const epochs = JSON.parse(await readFile(join(out, "epochs.json"), "utf8"));
  assert.equal(epochs.length, 200);
  assert.match(epochs[0].supply, /^\d+$/); // bigints as decimal strings
  assert.equal(BigInt(epochs[199].supply), BigInt(JSON.parse(await readFile(join(out, "summary.json"), "utf8")).finalSupply));

  const html = await readFile(join(out, "report.html"), "utf8");
  assert.equal((html.match(/<svg /g) ?? []).length, 9);
  for (const title of ["Token supply", "Net inflation", "Burned vs minted", "revenue per GiB, in tokens", "revenue per GiB, in fiat", "Self-dealing attacker", "Token price", "P(no winning ticket in a week)", "Monthly earnings per provider"]) {
    assert.ok(html.includes(title), title);
  }
  assert.equal((html.match(/class="reading"/g) ?? []).length, 9);
  const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
  assert.equal(summary.mode, "cohort");
  assert.deepEqual(
    summary.payouts.classes.map((c: { cohort: string; sizes: string[] }) => [c.cohort, c.sizes.join()]),
    [["home", "small"], ["pro", "median"], ["datacenter", "large"]],
  );
  assert.doesNotMatch(html, /<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
});

test("sim --no-k-cap and --seed override the model", async () => {
  const model = await shortPreset("bandmint", 120);
  const runSummary = async (values: CommandArgs["values"], name: string) => {
    const out = join(dir, name);
    assert.equal(await sim.run(args({ out, ...values }, [model])), 0);
    return JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
  };
  const capped = await runSummary({}, "capped");
  const uncapped = await runSummary({ "no-k-cap": true }, "uncapped");
  assert.equal(uncapped.kBps, "none");
  assert.ok(BigInt(uncapped.totalMinted) > BigInt(capped.totalMinted));
  const reseeded = await runSummary({ seed: "7" }, "reseeded");
  assert.equal(reseeded.seed, 7);
  assert.notEqual(reseeded.finalSupply, capped.finalSupply);
});

test("sim --mode individual simulates every provider: p10/p50/p90 of monthly earnings per class in summary.json and charts", async () => {
  const model = await shortPreset("bandmint", 61); // two whole months
  const out = join(dir, "individual");
  const stdout = sink();
  assert.equal(await sim.run(args({ out, mode: "individual" }, [model], stdout)), 0);
  assert.match(stdout.text(), /bandmint: 61 epochs \(individual mode\)/);
  assert.match(stdout.text(), /small provider's last month p10\/p50\/p90 [\d.]+ \/ [\d.]+ \/ [\d.]+ tokens/);
  const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
  assert.equal(summary.mode, "individual");
  assert.equal(summary.payouts.mode, "individual");
  assert.equal(summary.payouts.classes.length, 3);
  for (const c of summary.payouts.classes) {
    assert.equal(c.months.length, 2);
    for (const m of c.months) {
      for (const k of ["p10", "p50", "p90", "mean"]) assert.match(m[k], /^\d+$/, `${c.cohort} ${k}: wei as a decimal string`);
      assert.ok(BigInt(m.p10) < BigInt(m.p50) && BigInt(m.p50) < BigInt(m.p90), `${c.cohort}: the lottery spreads earnings`);
      assert.ok(m.providers > 0);
    }
  }
  const html = await readFile(join(out, "report.html"), "utf8");
  assert.equal((html.match(/<svg /g) ?? []).length, 12);
  assert.ok(html.includes("Spread of monthly earnings across providers"));
  for (const cls of ["small provider (home, weight 1)", "median provider (pro, weight 10)", "large provider (datacenter, weight 100)"]) {
    assert.ok(html.includes(`Monthly earnings of ${cls}: spread across providers`), cls);
  }
  assert.ok(html.includes("p10–p90 (last month)"));

  await assert.rejects(sim.run(args({ out, mode: "each" }, [model])), (e: unknown) => e instanceof ModelError && e.shortMessage === "--mode: must be cohort or individual, got each");
});

test("sim reports a bad model as a ModelError naming the field and the file", async () => {
  const raw = parse(await readFile(new URL("bandmint.yaml", models), "utf8"));
  raw.emission.decayBps = 20_000;
  const path = join(dir, "bad.yaml");
  await writeFile(path, stringify(raw));
  await assert.rejects(sim.run(args({ out: join(dir, "bad") }, [path])), (e: unknown) => e instanceof ModelError && e.shortMessage === `${path}: emission.decayBps: must be <= 10000`);
  await assert.rejects(sim.run(args({}, [join(dir, "missing.yaml")])), (e: unknown) => e instanceof ModelError && /cannot read the model file/.test(e.shortMessage));
});

test("evaluate: bandmint exits 0, self-reported exits 1 with self-dealing FAIL; --json is machine-readable", async () => {
  const bandmint = await shortPreset("bandmint", 365);
  const out = sink();
  assert.equal(await evaluate.run(args({ "skip-audit": true }, [bandmint], out)), 0);
  assert.match(out.text(), /^PASS +Self-dealing return/m);
  assert.match(out.text(), /no FAIL/);

  const selfReported = await shortPreset("self-reported", 365);
  const json = sink();
  assert.equal(await evaluate.run(args({ json: true }, [selfReported], json)), 1);
  const card = JSON.parse(json.text());
  assert.equal(card.ok, false);
  const selfDealing = card.checks.find((c: { id: string }) => c.id === "self-dealing");
  assert.equal(selfDealing.status, "FAIL");
  assert.ok(selfDealing.data.every((d: { return: number }) => d.return > 0));
});

test("evaluate scores a model in individual mode on cohort runs (aggregates and expected values)", async () => {
  const path = await shortPreset("bandmint", 120);
  const raw = parse(await readFile(path, "utf8"));
  raw.providers.mode = "individual";
  const individual = join(dir, "bandmint-individual.yaml");
  await writeFile(individual, stringify(raw));
  const cards = await Promise.all(
    [path, individual].map(async (file) => {
      const out = sink();
      await evaluate.run(args({ json: true, "skip-audit": true }, [file], out));
      return JSON.parse(out.text());
    }),
  );
  assert.deepEqual(cards[1], cards[0]);
});

test("evaluate gathers audit evidence from --repo for the paid basis", async () => {
  const bandmint = await shortPreset("bandmint", 60);
  const json = sink();
  // An empty repo: no contracts and no tests, so the audit's test check FAILs and the exit code is 1.
  assert.equal(await evaluate.run(args({ json: true, repo: dir }, [bandmint], json)), 1);
  const card = JSON.parse(json.text());
  assert.equal(card.checks.find((c: { id: string }) => c.id === "audit-tests").status, "FAIL");
});
