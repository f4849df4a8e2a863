import type { Command } from "../command.ts";
import { ModelError } from "../../tokenomics/ModelError.ts";
import { providerModeSchema } from "../../tokenomics/modelSchema.ts";
import { loadModel } from "../../tokenomics/parseModel.ts";
import { simulate } from "../../tokenomics/simulate.ts";
import { writeRunFiles } from "../../tokenomics/writeRunFiles.ts";

const pct = (v: number | null): string => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);

/** `bandmint sim <model> --out <dir>`: runs a tokenomics model and writes its CSV, JSON and HTML report. */
const sim: Command = {
  summary: "Simulate a tokenomics model (YAML or JSON) and write epochs.csv, epochs.json, summary.json and report.html.",
  usage: "<model.yaml> [--out DIR] [--seed N] [--epochs N] [--mode cohort|individual] [--no-k-cap]",
  options: {
    out: { type: "string", default: "sim-out" },
    seed: { type: "string" },
    epochs: { type: "string" },
    mode: { type: "string" },
    "no-k-cap": { type: "boolean", default: false },
  },
  async run({ values, positionals, signal, stdout }) {
    const file = positionals[0];
    if (file === undefined) throw new ModelError({ file: "<model>", reason: "missing model file (usage: bandmint sim <model.yaml> --out DIR)" });
    let model = await loadModel(file);
    const integer = (flag: string, max: number): number | undefined => {
      const raw = values[flag];
      if (typeof raw !== "string") return undefined;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > max) throw new ModelError({ file: `--${flag}`, reason: `must be an integer in [0, ${max}], got ${raw}` });
      return n;
    };
    const seed = integer("seed", 2 ** 32 - 1);
    const epochs = integer("epochs", 100_000);
    if (seed !== undefined) model = { ...model, seed };
    if (epochs !== undefined) model = { ...model, epochs: Math.max(1, epochs) };
    if (typeof values.mode === "string") {
      // The model schema's own rule, so the flag and the file accept the same values.
      const mode = providerModeSchema.safeParse(values.mode);
      if (!mode.success) throw new ModelError({ file: "--mode", reason: `${mode.error.issues[0]?.message ?? "invalid"}, got ${values.mode}` });
      model = { ...model, providers: { ...model.providers, mode: mode.data } };
    }
    // For comparison only: the contract refuses k >= 1, the simulator can show what it would do.
    if (values["no-k-cap"] === true) model = { ...model, rewards: { ...model.rewards, kBps: "none" } };
    const started = performance.now();
    const result = simulate(model, { signal });
    const elapsed = performance.now() - started;
    const dir = typeof values.out === "string" ? values.out : "sim-out";
    const paths = await writeRunFiles(dir, model, result);
    const s = result.summary;
    const small = s.payouts.classes.find((c) => c.sizes.includes("small"))?.months.at(-1);
    const spread =
      s.mode === "individual" && small !== undefined
        ? `; small provider's last month p10/p50/p90 ${[small.p10, small.p50, small.p90].map((v) => (Number(v) / 1e18).toFixed(3)).join(" / ")} tokens`
        : "";
    stdout.write(
      `${model.name}: ${s.epochs} epochs (${s.mode} mode) in ${elapsed.toFixed(0)} ms; supply ${s.genesisSupply / 10n ** 18n} -> ${s.finalSupply / 10n ** 18n} tokens, ` +
        `long-run inflation ${pct(s.longRunInflation)}, attacker return ${pct(s.attacker.return)}${spread}\n${paths.map((p) => `  wrote ${p}`).join("\n")}\n`,
    );
    return 0;
  },
};

export default sim;
