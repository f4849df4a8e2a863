// The commented YAML config `bandmint node init` writes. Every value goes through JSON.stringify
// (a JSON string is a valid YAML scalar), so paths and URLs with odd characters stay intact; the
// result is read back by loadNodeConfig like any hand-written file.

/** What `node init` decided; paths are written as given (relative ones resolve against the file). */
export type NodeConfigAnswers = {
  deployment: string;
  rpcUrl?: string | undefined;
  keystore: string;
  passphraseFile?: string | undefined;
  host: string;
  port: number;
  endpoint?: string | undefined;
  dataDir: string;
  origins: string[];
  /** A config amount, e.g. "0.5 BAND". */
  pricePerGiB: string;
  region: string;
  capacityMbps: number;
  maxCacheBytes: string;
  portMapping?: "upnp" | "natpmp" | undefined;
  /** When and by what the file was written (first comment line). */
  writtenBy: string;
};

const q = (v: string) => JSON.stringify(v);
const opt = (set: boolean, line: string) => (set ? line : `# ${line}`);

/** The YAML text of a node config with a comment on every field. */
export function renderNodeConfig(a: NodeConfigAnswers): string {
  return `# bandmint provider node, ${a.writtenBy}.
# Relative paths are relative to this file. Every field: README.md, "Node configuration".

# The contracts this node works with (chain id, addresses, default RPC URL).
deployment: ${q(a.deployment)}
# JSON-RPC endpoint of the chain; defaults to the deployment file's rpcUrl.
${opt(a.rpcUrl !== undefined, `rpcUrl: ${q(a.rpcUrl ?? "https://rpc.example.org")}`)}

# The provider key, encrypted (Web3 Secret Storage). Its passphrase comes from passphraseFile,
# else the BANDMINT_PASSPHRASE environment variable, else a prompt at the terminal.
keystore: ${q(a.keystore)}
${opt(a.passphraseFile !== undefined, `passphraseFile: ${q(a.passphraseFile ?? "/run/credentials/bandmint.service/passphrase")}`)}

# Where consumers connect: 0.0.0.0 listens on every interface of this box.
host: ${q(a.host)}
port: ${a.port}
# The URL registered on chain, that consumers on the internet use: your public address or name.
# Default: http(s)://host:port, which is only right when host is that public address.
${opt(a.endpoint !== undefined, `endpoint: ${q(a.endpoint ?? "https://node.example.org:7070")}`)}
# Serve consumers over https (recommended: without it a session token crosses the network in
# clear text). The files are re-read when they change, e.g. after a certificate renewal.
# tls: { cert: "/etc/bandmint/fullchain.pem", key: "/etc/bandmint/privkey.pem" }

# Ask the router to forward the port (UPnP IGD or NAT-PMP); renewed while the node runs,
# removed when it stops. gateway: a UPnP root description URL or the NAT-PMP router address
# (default: discovered). The node reports in /status whether consumers can reach it.
${opt(a.portMapping !== undefined, `portMapping: { protocol: ${q(a.portMapping ?? "upnp")} }`)}

# Ticket store, cache and other state.
dataDir: ${q(a.dataDir)}
maxCacheBytes: ${q(a.maxCacheBytes)}
# Publishers' origin servers this edge pulls content from.
origins: [${a.origins.map(q).join(", ")}]

# Your offer: price per GiB ("0.5 BAND", or an integer in wei), capacity, region.
# After changing it run 'bandmint node register' so the on-chain listing matches.
pricePerGiB: ${q(a.pricePerGiB)}
capacityMbps: ${a.capacityMbps}
region: ${q(a.region)}
`;
}
