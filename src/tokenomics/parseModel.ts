import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { ModelError } from "./ModelError.ts";
import { modelSchema, type Model } from "./modelSchema.ts";

/**
 * Validates an already-decoded model object. Throws a ModelError naming the first bad field and
 * the file, e.g. `models/x.yaml: emission.decayBps: must be <= 10000`.
 */
export function parseModel(raw: unknown, file: string): Model {
  const result = modelSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join(".") ?? "";
  const reason = issue?.message ?? "invalid model";
  throw new ModelError({
    file,
    field,
    reason: issue?.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : reason,
  });
}

/** Decodes model text (JSON when `file` ends in .json, YAML otherwise) and validates it. */
export function parseModelText(text: string, file: string): Model {
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new ModelError({ file, reason: `not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(cause as Error).message.split("\n")[0]}`, cause });
  }
  return parseModel(raw, file);
}

/** Reads and validates a model file (YAML or JSON). */
export async function loadModel(file: string): Promise<Model> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ModelError({ file, reason: `cannot read the model file (${(cause as NodeJS.ErrnoException).code ?? "error"})`, cause });
  }
  return parseModelText(text, file);
}
