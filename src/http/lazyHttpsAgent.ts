import type { Agent, AgentOptions, request } from "node:https";

/**
 * A keep-alive https agent whose module (node:https, and tls with it: ~3 MB of RSS) is loaded on
 * the first https request: a node or client that only speaks plain http never holds it.
 */
export function lazyHttpsAgent(options: AgentOptions) {
  let loaded: Promise<{ agent: Agent; request: typeof request }> | undefined;
  return {
    /** The agent and node:https's `request`, loading them the first time. */
    get: () => (loaded ??= import("node:https").then((m) => ({ agent: new m.Agent(options), request: m.request }))),
    /** Drops the agent's pooled connections, if it was ever made. */
    destroy: (): void => void loaded?.then((h) => h.agent.destroy()),
  };
}
