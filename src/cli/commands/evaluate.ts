import { fileURLToPath } from "node:url";
import type { Command } from "../command.ts";
import { evaluateModel, type Scorecard } from "../../tokenomics/evaluateModel.ts";
import { gatherAuditEvidence } from "../../tokenomics/gatherAuditEvidence.ts";
import { ModelError } from "../../tokenomics/ModelError.ts";
import { loadModel } from "../../tokenomics/parseModel.ts";
import { toJsonValue } from "../../tokenomics/serializeRun.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Renders a scorecard as aligned text lines: verdict, check, figure. */
export function formatScorecard(card: Scorecard): string {
  const width = Math.max(...card.checks.map((c) => c.title.length));
  const lines = card.checks.map((c) => `${c.status.padEnd(4)}  ${c.title.padEnd(width)}  ${c.figure}`);
  const fails = card.checks.filter((c) => c.status === "FAIL").length;
  const warns = card.checks.filter((c) => c.status === "WARN").length;
  return `${card.model} (${card.basis})\n${lines.join("\n")}\n${fails === 0 ? "no FAIL" : `${fails} FAIL`}, ${warns} WARN\n`;
}

/** `bandmint evaluate <model>`: the tokenomics checklist as a PASS/WARN/FAIL scorecard; exit 1 on any FAIL. */
const evaluate: Command = {
  summary: "Score a tokenomics model: inflation, self-dealing, Sybil, payout variance, audit readiness (PASS/WARN/FAIL).",
  usage: "<model.yaml> [--json] [--repo DIR] [--skip-audit]",
  options: {
    json: { type: "boolean", default: false },
    repo: { type: "string" },
    "skip-audit": { type: "boolean", default: false },
  },
  async run({ values, positionals, signal, stdout }) {
    const file = positionals[0];
    if (file === undefined) throw new ModelError({ file: "<model>", reason: "missing model file (usage: bandmint evaluate <model.yaml>)" });
    const model = await loadModel(file);
    // Audit readiness is evidence about bandmint's own contracts, so only the paid basis (ours) gets it.
    const wantAudit = model.rewards.basis === "paid" && values["skip-audit"] !== true;
    const audit = wantAudit ? gatherAuditEvidence(typeof values.repo === "string" ? values.repo : REPO_ROOT) : undefined;
    const card = await evaluateModel(model, { audit, signal });
    stdout.write(values.json === true ? `${JSON.stringify(toJsonValue(card), null, 2)}\n` : formatScorecard(card));
    return card.ok ? 0 : 1;
  },
};

export default evaluate;
