// The goal of a benchmark figure, as bench scripts write it next to the figure: ">= 0.8x" is on the
// ratio to the reference, "<= 10000" and "<= 10 s" are on our figure itself (in its unit),
// "0.9..1.1x" is a band. A bare number takes its direction from lowerIsBetter.
import { BaseError } from "../../src/protocol/errors.ts";

/** A parsed goal: what it compares (the ratio or our figure), how, and the unit it is written in. */
export type BenchGoal =
  | { on: "ratio" | "ours"; op: ">=" | "<=" | ">" | "<"; value: number; unit?: string }
  | { on: "ratio" | "ours"; op: "range"; min: number; max: number; unit?: string };

/** A goal string that is none of the forms above. */
export class BenchGoalError extends BaseError {
  override name = "BenchGoalError";
  goal: string;
  constructor(goal: string) {
    super(`Cannot read the goal "${goal}".`, { details: 'write ">= 0.8x" (on the ratio), "<= 10000" or "<= 10 s" (on the figure, in its unit), or "0.9..1.1x"' });
    this.goal = goal;
  }
}

const NUMBER = String.raw`[-+]?(?:\d[\d,_]*(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?`;
const COMPARE = new RegExp(String.raw`^(>=|<=|>|<|≥|≤)?\s*(${NUMBER})\s*(.*)$`, "i");
const RANGE = new RegExp(String.raw`^(${NUMBER})\s*(?:x\s*)?\.\.\s*(${NUMBER})\s*(.*)$`, "i");

const toNumber = (text: string) => Number(text.replace(/[,_]/g, ""));

/** Splits the text after the number into what the goal is on: "x" is the ratio, anything else a unit of our figure. */
function target(rest: string): { on: "ratio" | "ours"; unit?: string } {
  const unit = rest.trim();
  if (unit === "x" || unit === "X" || unit === "×") return { on: "ratio" };
  return unit === "" ? { on: "ours" } : { on: "ours", unit };
}

/** Parses a goal string; throws BenchGoalError when it is none of the forms. */
export function parseGoal(goal: string, lowerIsBetter = false): BenchGoal {
  const text = goal.trim();
  const range = RANGE.exec(text);
  if (range) {
    const [min, max] = [toNumber(range[1]!), toNumber(range[2]!)];
    if (!(min <= max)) throw new BenchGoalError(goal);
    return { ...target(range[3]!), op: "range", min, max };
  }
  const m = COMPARE.exec(text);
  if (!m) throw new BenchGoalError(goal);
  const value = toNumber(m[2]!);
  if (!Number.isFinite(value)) throw new BenchGoalError(goal);
  const op = ({ "≥": ">=", "≤": "<=" } as const)[m[1] as "≥" | "≤"] ?? (m[1] as ">=" | "<=" | ">" | "<" | undefined) ?? (lowerIsBetter ? "<=" : ">=");
  return { ...target(m[3]!), op, value };
}

/**
 * Whether a figure meets its goal: true or false, or undefined with the reason when it cannot be
 * told (no goal, an unreadable goal, no reference for a ratio goal, a goal in another unit).
 */
export function meetsGoal(
  figure: { ours: number; ratio: number | null; unit: string; goal?: string; lowerIsBetter?: boolean },
): { met: boolean | undefined; problem?: string } {
  if (figure.goal === undefined) return { met: undefined };
  let goal: BenchGoal;
  try {
    goal = parseGoal(figure.goal, figure.lowerIsBetter);
  } catch (error) {
    return { met: undefined, problem: error instanceof BaseError ? error.shortMessage : String(error) };
  }
  if (goal.on === "ours" && goal.unit !== undefined && goal.unit !== figure.unit) {
    return { met: undefined, problem: `the goal is in ${goal.unit}, the figure in ${figure.unit}` };
  }
  const value = goal.on === "ratio" ? figure.ratio : figure.ours;
  if (value === null || !Number.isFinite(value)) return { met: undefined, problem: "no reference figure for a ratio goal" };
  switch (goal.op) {
    case ">=": return { met: value >= goal.value };
    case "<=": return { met: value <= goal.value };
    case ">": return { met: value > goal.value };
    case "<": return { met: value < goal.value };
    case "range": return { met: value >= goal.min && value <= goal.max };
  }
}
