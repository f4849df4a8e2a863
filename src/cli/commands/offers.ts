import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { UsageError } from "../usageError.ts";
import { createChainClients } from "../../chain/clients.ts";
import { readDeployment } from "../../chain/deployment.ts";
import { DEFAULT_DEPLOYMENT_PATH } from "../../client/clientConfig.ts";
import { probeProviders } from "../../market/probeProviders.ts";
import { SERVICE_CDN, SERVICE_RELAY, type ProviderListing } from "../../market/providerListing.ts";
import { createProviderStats } from "../../market/providerStats.ts";
import { rankProviders } from "../../market/rankProviders.ts";
import { readOffers } from "../../market/readOffers.ts";

const services = (bits: number) => [bits & SERVICE_CDN ? "cdn" : "", bits & SERVICE_RELAY ? "relay" : ""].filter(Boolean).join("+") || "-";

const command: Command = {
  summary: "List the market's offers as a consumer sees them: read from the registry, probed, ranked as the client ranks them",
  usage: "[--service cdn|relay] [--json] [--rpc URL] [--deployment FILE]",
  options: {
    service: { type: "string", default: "cdn" },
    json: { type: "boolean" },
    rpc: { type: "string" },
    deployment: { type: "string" },
  },
  async run({ values, stdout, signal }) {
    const service = values.service;
    if (service !== "cdn" && service !== "relay") throw new UsageError(`must be cdn or relay, not ${String(service)}`, { flag: "service" });
    const deployment = await readDeployment(typeof values.deployment === "string" ? values.deployment : DEFAULT_DEPLOYMENT_PATH);
    const { publicClient } = await createChainClients({ rpcUrl: (values.rpc as string | undefined) ?? deployment.rpcUrl, chainId: deployment.chainId });
    const listings = await readOffers({ publicClient: publicClient as never, registry: deployment.contracts.registry, signal });
    const stats = createProviderStats();
    await probeProviders({ listings, stats, signal });
    const ranked = rankProviders({ listings, stats, service });
    const offering = listings.filter((l) => (l.services & (service === "relay" ? SERVICE_RELAY : SERVICE_CDN)) !== 0);
    const skipped = offering.filter((l) => !ranked.includes(l));
    const view = (l: ProviderListing, rank: number | undefined) => {
      const s = stats.get(l.provider);
      const reachability = s.consecutiveFailures > 0 ? "no answer" : s.latencyMs === undefined ? "unknown" : "reachable";
      return {
        rank: rank ?? null, provider: l.provider, endpoint: l.endpoint, pricePerGiB: l.pricePerGiB, capacityMbps: l.capacityMbps, region: l.region,
        services: services(l.services), reachability, latencyMs: s.latencyMs === undefined ? null : Math.round(s.latencyMs),
        unavailable: stats.isUnavailable(l.provider) ? (s.unavailable?.reason ?? "") : null,
      };
    };
    const rows = [...ranked.map((l, i) => view(l, i + 1)), ...skipped.map((l) => view(l, undefined))];
    if (values.json) {
      stdout.write(`${JSON.stringify({ service, offers: rows }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      stdout.write(`no active ${service} offers in the registry ${deployment.contracts.registry}\n`);
      return 0;
    }
    stdout.write(`${"#".padEnd(3)} ${"provider".padEnd(42)} ${"price/GiB".padEnd(18)} ${"Mbps".padStart(6)} ${"region".padEnd(8)} ${"services".padEnd(9)} reachability   endpoint\n`);
    for (const r of rows) {
      const reach = r.unavailable !== null ? `unavailable: ${r.unavailable}` : r.latencyMs !== null && r.reachability === "reachable" ? `${r.latencyMs} ms` : r.reachability;
      stdout.write(`${String(r.rank ?? "-").padEnd(3)} ${r.provider} ${formatToken(r.pricePerGiB).padEnd(18)} ${String(r.capacityMbps).padStart(6)} ${(r.region || "-").padEnd(8)} ${r.services.padEnd(9)} ${reach.padEnd(14)} ${r.endpoint}\n`);
    }
    stdout.write(`\nranked by price and measured latency as the client ranks them; '-' = not used now\n`);
    return 0;
  },
};
export default command;
