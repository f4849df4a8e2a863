import type { Address } from "viem";
import { addressKind } from "./addressKind.ts";
import type { Clock } from "./payments/sessionBook.ts";

// Can consumers on the internet reach this node? A node behind a home router usually cannot
// until a port is forwarded, and it cannot tell from the inside: its own view of its public
// address may be wrong (carrier-grade NAT, a stale registered endpoint), and most routers do
// not loop a connection to their own public address back in. So the node asks other nodes to
// dial it back (as libp2p's AutoNAT does): a peer connects to the address it *observes* the
// request coming from, never to an address the asker names, so the service cannot be used to
// make a node connect to a third party. The verdict, with the reason and what to do, goes to
// the log and to /status.

/** What /status reports. */
export type Reachability = {
  state: "reachable" | "not-reachable" | "unknown";
  /** Why, and for a node that is not reachable, what to do. */
  reason?: string;
  /** The URL consumers are expected to use (the registered endpoint). */
  endpoint?: string;
  checkedAt?: number;
};

/** One peer's answer to a dial-back request. */
export type DialbackResult = {
  peer: string;
  /** The address the peer saw the request come from. */
  observedAddress?: string | undefined;
  /** The peer connected and got an offer. */
  reached: boolean;
  /** The recipient in the offer it got (it must be ours). */
  recipient?: string | undefined;
  error?: string | undefined;
};

/** Everything the verdict is made from. */
export type ReachabilityFacts = {
  recipient: Address;
  endpoint: string | undefined;
  mapping?: { externalHost: string; externalPort: number } | undefined;
  mappingError?: string | undefined;
  dialbacks: DialbackResult[];
  /** This box fetching its own endpoint (only tried when no peer answered). */
  selfProbe?: { ok: boolean; error?: string | undefined } | undefined;
  now: number;
};

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");
const portOf = (url: URL) => Number(url.port || (url.protocol === "https:" ? 443 : 80));
const register = "then run 'bandmint node register' so the listing carries it";

/** The verdict from the facts: pure, so every branch is tested without a network. */
export function judgeReachability(f: ReachabilityFacts): Reachability {
  const base = { checkedAt: f.now, ...(f.endpoint !== undefined ? { endpoint: f.endpoint } : {}) };
  const no = (reason: string): Reachability => ({ state: "not-reachable", reason, ...base });
  let url: URL | undefined;
  try {
    url = f.endpoint === undefined ? undefined : new URL(f.endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined) return no(`no usable endpoint: set 'endpoint' in the config to the URL consumers should use, ${register}`);
  const host = hostOf(url);
  const kind = addressKind(host);
  if (kind === "unspecified") return no(`endpoint ${f.endpoint} is a listen-everywhere address, not one consumers can connect to: set 'endpoint' to your public address, ${register}`);
  if (f.mapping !== undefined) {
    const mk = addressKind(f.mapping.externalHost);
    if (mk === "cgnat" || mk === "private") {
      return no(`the router's public side has the ${mk === "cgnat" ? "carrier-grade NAT" : "private"} address ${f.mapping.externalHost}: the internet cannot reach it, so no port forward can help. Ask your ISP for a public IPv4 address (or use IPv6, or a host with a public address)`);
    }
    if (mk !== "loopback" && (kind !== "name" && host !== f.mapping.externalHost || portOf(url) !== f.mapping.externalPort)) {
      return no(`the router forwards ${f.mapping.externalHost}:${f.mapping.externalPort} but the endpoint is ${f.endpoint}: set 'endpoint' to ${url.protocol}//${f.mapping.externalHost}:${f.mapping.externalPort}, ${register}`);
    }
  }
  const answered = f.dialbacks.filter((d) => d.observedAddress !== undefined);
  const ok = answered.filter((d) => d.reached && d.recipient?.toLowerCase() === f.recipient.toLowerCase());
  if (ok.length > 0) {
    const via = kind === "loopback" ? " (a loopback endpoint: only consumers on this machine)" : "";
    return { state: "reachable", reason: `${ok.length} of ${f.dialbacks.length} peer(s) reached ${f.endpoint}${via}`, ...base };
  }
  const impostor = answered.find((d) => d.reached);
  if (impostor !== undefined) return no(`a peer reached ${host}:${portOf(url)} but another server answered there (recipient ${impostor.recipient ?? "none"}): check the port forward points at this box`);
  const seen = answered.find((d) => kind !== "name" && kind !== "loopback" && d.observedAddress !== host);
  if (seen !== undefined) {
    return no(`peers see this node's traffic come from ${seen.observedAddress} but the endpoint says ${host}: if ${seen.observedAddress} is your public address set 'endpoint' to it, ${register}`);
  }
  if (answered.length > 0) {
    const mappingNote = f.mappingError !== undefined ? ` (port mapping failed: ${f.mappingError})` : "";
    return no(`${answered.length} peer(s) could not connect to ${answered[0]!.observedAddress}:${portOf(url)} (${answered[0]!.error ?? "no answer"})${mappingNote}: forward TCP port ${portOf(url)} on your router to this box, or enable portMapping, and allow it through the firewall`);
  }
  // No peer answered: judge from what this box can see.
  if (kind === "private" || kind === "link-local" || kind === "cgnat") {
    return no(`endpoint ${f.endpoint} is a LAN address that consumers on the internet cannot reach: forward the port on your router (or enable portMapping), set 'endpoint' to your public address, ${register}`);
  }
  const peers = f.dialbacks.length === 0 ? "no peer to ask" : `no peer answered (${f.dialbacks[0]!.error ?? "no answer"})`;
  if (f.selfProbe?.ok === true) return { state: "reachable", reason: `${peers}; this box reached its own endpoint ${f.endpoint}`, ...base };
  return { state: "unknown", reason: `${peers}, and this box ${f.selfProbe === undefined ? "did not try" : `cannot reach its own endpoint (${f.selfProbe.error ?? "no answer"}; many routers do not loop back)`}: ask someone outside to open ${f.endpoint}/offer`, ...base };
}

/** Asks the node at `peer` to dial this one back on `port` (the scheme and name of our endpoint). */
export async function requestDialback(fetchFn: typeof fetch, peer: string, endpoint: URL, signal: AbortSignal): Promise<DialbackResult> {
  try {
    const res = await fetchFn(`${peer.replace(/\/+$/, "")}/reachability/dialback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ port: portOf(endpoint), scheme: endpoint.protocol.slice(0, -1), host: hostOf(endpoint) }),
      signal,
    });
    if (!res.ok) return { peer, reached: false, error: `peer answered ${res.status}` };
    const body = (await res.json()) as { observedAddress?: unknown; reached?: unknown; recipient?: unknown; error?: unknown };
    return {
      peer,
      observedAddress: typeof body.observedAddress === "string" ? body.observedAddress : undefined,
      reached: body.reached === true,
      recipient: typeof body.recipient === "string" ? body.recipient : undefined,
      error: typeof body.error === "string" ? body.error.slice(0, 200) : undefined,
    };
  } catch (error) {
    return { peer, reached: false, error: `peer unreachable: ${(error as Error).message}` };
  }
}

/** Options of `createReachabilityCheck`. */
export type ReachabilityCheckParameters = {
  recipient: Address;
  /** The URL consumers use (the registered endpoint, else the configured one). */
  endpoint: () => string | undefined;
  mapping?: () => { externalHost: string; externalPort: number } | undefined;
  mappingError?: () => string | undefined;
  /** Other nodes' base URLs to ask for a dial-back (at most 3 are asked per check). */
  peers: (signal: AbortSignal) => Promise<string[]>;
  fetch: typeof fetch;
  clock: Clock;
  log: (line: string) => void;
  intervalMs: number;
};

/** The self-check component: checks after start and every `intervalMs`; `status()` is what /status shows. */
export function createReachabilityCheck(p: ReachabilityCheckParameters) {
  let current: Reachability = { state: "unknown", reason: "not checked yet" };
  let timer: NodeJS.Timeout | undefined;
  let controller = new AbortController();
  let running: Promise<Reachability> | undefined;

  async function check(): Promise<Reachability> {
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(30_000)]);
    const endpoint = p.endpoint();
    let url: URL | undefined;
    try {
      url = endpoint === undefined ? undefined : new URL(endpoint);
    } catch {
      url = undefined;
    }
    const dialbacks: DialbackResult[] = [];
    let selfProbe: ReachabilityFacts["selfProbe"];
    if (url !== undefined && addressKind(hostOf(url)) !== "unspecified") {
      const own = url.origin;
      const peers = (await p.peers(signal).catch(() => [])).filter((peer) => {
        try {
          return new URL(peer).origin !== own;
        } catch {
          return false;
        }
      });
      // A few random peers: enough to tell "closed" from "one peer is down".
      const chosen = peers.sort(() => Math.random() - 0.5).slice(0, 3);
      dialbacks.push(...(await Promise.all(chosen.map((peer) => requestDialback(p.fetch, peer, url!, signal)))));
      if (!dialbacks.some((d) => d.observedAddress !== undefined)) {
        try {
          const res = await p.fetch(`${own}/offer`, { signal });
          const offer = (await res.json()) as { recipient?: string };
          selfProbe = offer.recipient?.toLowerCase() === p.recipient.toLowerCase() ? { ok: true } : { ok: false, error: "another server answered" };
        } catch (error) {
          selfProbe = { ok: false, error: (error as Error).message };
        }
      }
    }
    const verdict = judgeReachability({ recipient: p.recipient, endpoint, mapping: p.mapping?.(), mappingError: p.mappingError?.(), dialbacks, selfProbe, now: p.clock.now() });
    if (verdict.state !== current.state || verdict.state !== "reachable") p.log(`node: reachability: ${verdict.state}: ${verdict.reason ?? ""}`);
    current = verdict;
    return verdict;
  }

  return {
    /** The last verdict. */
    status: (): Reachability => current,
    /** Checks now (concurrent calls share one check). */
    checkNow(): Promise<Reachability> {
      running ??= check().finally(() => (running = undefined));
      return running;
    },
    /** Checks soon after start, then every interval. */
    start(): void {
      controller = new AbortController();
      void this.checkNow();
      timer = setInterval(() => void this.checkNow(), p.intervalMs);
      timer.unref();
    },
    /** Stops the timer and abandons a check in flight. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      controller.abort();
      await running?.catch(() => undefined);
    },
  };
}

/** The reachability self-check (see createReachabilityCheck). */
export type ReachabilityCheck = ReturnType<typeof createReachabilityCheck>;
