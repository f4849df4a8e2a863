import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** What the repository shows about the contracts' audit readiness (counted, not judged). */
export type AuditEvidence = {
  /** Test functions in contracts/test/**\/*.t.sol by kind. */
  tests: { unit: number; fuzz: number; invariant: number; files: number };
  /** `error X(...)` declarations vs string reverts (`require(c, "...")`, `revert("...")`) in the contracts (tests and mocks excluded). */
  customErrors: number;
  stringReverts: { count: number; where: string[] };
  /** State-changing external/public functions and those among them that emit no event (directly, through a same-file helper, or through a token transfer/mint/burn). */
  stateChanging: number;
  withoutEvent: string[];
  /** solhint over the non-test contracts with the repo's .solhint.json; null when it could not run. */
  solhint: { errors: number; warnings: number; rules: Record<string, number> } | null;
  solhintProblem?: string;
  contracts: string[];
};

async function listSol(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".sol")).map((e) => join(e.parentPath, e.name)).sort();
}

/** Drops comments and string contents so that regexes see only code. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

/** Function heads and bodies of a Solidity source (brace matching; good enough for well-formed code). */
function functionsOf(code: string): { name: string; head: string; body: string }[] {
  const out: { name: string; head: string; body: string }[] = [];
  const re = /function\s+([A-Za-z_$][\w$]*)\s*\(/g;
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    const open = code.indexOf("{", m.index);
    const semi = code.indexOf(";", m.index);
    const name = m[1] ?? "";
    if (open === -1 || (semi !== -1 && semi < open)) {
      out.push({ name, head: code.slice(m.index, semi === -1 ? undefined : semi), body: "" });
      continue;
    }
    let depth = 0;
    let end = open;
    for (; end < code.length; end++) {
      if (code[end] === "{") depth++;
      else if (code[end] === "}" && --depth === 0) break;
    }
    out.push({ name, head: code.slice(m.index, open), body: code.slice(open, end + 1) });
  }
  return out;
}

// Calls that emit an event in OpenZeppelin (ERC20 Transfer/Approval, AccessControl RoleGranted, ...).
const EMITTING_CALLS = /\b(_mint|_burn|_transfer|_update|_approve|_grantRole|_revokeRole|safeTransfer|safeTransferFrom|transfer|transferFrom|mint|burn|burnFrom)\s*\(/;

function runSolhint(repoRoot: string, files: string[]): Promise<{ stdout: string; error?: string }> {
  const bin = join(repoRoot, "node_modules", "solhint", "solhint.js");
  return new Promise((resolve) => {
    if (!existsSync(bin)) return resolve({ stdout: "", error: "solhint is not installed (npm install --save-exact solhint@6.2.4)" });
    execFile(process.execPath, [bin, "-f", "json", ...files], { cwd: repoRoot, maxBuffer: 32 * 1024 * 1024 }, (error, stdout) => {
      // solhint exits non-zero when it finds errors; the JSON on stdout is still the result.
      resolve(stdout.trim().startsWith("[") ? { stdout } : { stdout, error: error?.message.split("\n")[0] ?? "no output" });
    });
  });
}

/**
 * Gathers audit-readiness evidence from a repository: test counts by kind, custom errors vs string
 * reverts, events per state-changing function, and solhint's findings. Heuristic source scanning:
 * it counts what is there, it does not prove anything about it.
 */
export async function gatherAuditEvidence(repoRoot: string, options: { solhint?: boolean } = {}): Promise<AuditEvidence> {
  const contractsDir = join(repoRoot, "contracts");
  const all = await listSol(contractsDir);
  const isTest = (f: string) => relative(contractsDir, f).startsWith("test");
  const sources = all.filter((f) => !isTest(f) && !relative(contractsDir, f).startsWith("mocks"));
  const tests = { unit: 0, fuzz: 0, invariant: 0, files: 0 };
  for (const file of all.filter((f) => isTest(f) && f.endsWith(".t.sol"))) {
    tests.files++;
    const code = stripComments(await readFile(file, "utf8"));
    tests.unit += (code.match(/function\s+test_\w*\s*\(/g) ?? []).length;
    tests.fuzz += (code.match(/function\s+testFuzz_\w*\s*\(/g) ?? []).length;
    tests.invariant += (code.match(/function\s+invariant_\w*\s*\(/g) ?? []).length;
  }
  let customErrors = 0;
  const stringReverts: string[] = [];
  let stateChanging = 0;
  const withoutEvent: string[] = [];
  for (const file of sources) {
    const rel = relative(repoRoot, file);
    const code = stripComments(await readFile(file, "utf8"));
    customErrors += (code.match(/\berror\s+[A-Za-z_]\w*\s*\(/g) ?? []).length;
    const lines = code.split("\n");
    lines.forEach((line, i) => {
      if (/\brequire\s*\([^;]*,\s*"/.test(line) || /\brevert\s*\(\s*"/.test(line)) stringReverts.push(`${rel}:${i + 1}`);
    });
    // Interfaces and libraries declare vocabulary or pure helpers; events are checked on contracts.
    if (!/\bcontract\s+\w+/.test(code)) continue;
    const fns = functionsOf(code);
    const emits = new Map<string, boolean>();
    for (const f of fns) emits.set(f.name, /\bemit\s+\w+/.test(f.body) || EMITTING_CALLS.test(f.body));
    // Follow same-file helpers (claim -> _claim -> emit) to a fixed point.
    for (let changed = true; changed; ) {
      changed = false;
      for (const f of fns) {
        if (emits.get(f.name)) continue;
        if (fns.some((g) => g.name !== f.name && emits.get(g.name) && new RegExp(`\\b${g.name}\\s*\\(`).test(f.body))) {
          emits.set(f.name, true);
          changed = true;
        }
      }
    }
    for (const f of fns) {
      if (f.body === "" || !/\b(external|public)\b/.test(f.head) || /\b(view|pure)\b/.test(f.head)) continue;
      stateChanging++;
      if (!emits.get(f.name)) withoutEvent.push(`${rel}: ${f.name}`);
    }
  }
  const evidence: AuditEvidence = {
    tests,
    customErrors,
    stringReverts: { count: stringReverts.length, where: stringReverts.slice(0, 10) },
    stateChanging,
    withoutEvent,
    solhint: null,
    contracts: sources.map((f) => relative(repoRoot, f)),
  };
  if (options.solhint !== false && sources.length > 0) {
    const { stdout, error } = await runSolhint(repoRoot, sources.map((f) => relative(repoRoot, f)));
    if (error !== undefined) evidence.solhintProblem = error;
    else {
      const findings = JSON.parse(stdout) as { ruleId?: string; severity?: string }[];
      const result = { errors: 0, warnings: 0, rules: {} as Record<string, number> };
      for (const f of findings) {
        if (f.ruleId === undefined) continue; // the trailing summary object
        if (f.severity === "Error") result.errors++;
        else result.warnings++;
        result.rules[f.ruleId] = (result.rules[f.ruleId] ?? 0) + 1;
      }
      evidence.solhint = result;
    }
  }
  return evidence;
}
