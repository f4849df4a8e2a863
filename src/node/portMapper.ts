import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import type { Gateway } from "@achingbrain/nat-port-mapper";
import { BaseError } from "../protocol/errors.ts";

/** The router forwards `externalHost:externalPort` to this node. */
export type PortMapping = { protocol: "upnp" | "natpmp"; gateway: string; externalHost: string; externalPort: number; internalHost: string; internalPort: number; mappedAt: number };

/** Asking the router for a port forward failed; says what to do instead. */
export class PortMappingError extends BaseError {
  override name = "PortMappingError";
  constructor(message: string, cause?: unknown) {
    super(`Port mapping: ${message}`, {
      cause,
      details: "Enable UPnP or NAT-PMP on the router, or forward the port by hand and remove portMapping from the config.",
    });
  }
}

/** Options of `createPortMapper`. */
export type PortMapperParameters = {
  protocol: "upnp" | "natpmp";
  /** UPnP: root description URL (skips SSDP discovery); NAT-PMP: router address (default: the default route's gateway). */
  gateway?: string | undefined;
  /** This box's LAN address (default: first non-internal IPv4 address). */
  internalHost?: string | undefined;
  /**
   * The node's port, asked for on the router's public side too. (The library removes a mapping by
   * its internal port, so a different public port could not be removed on stop.)
   */
  internalPort: number;
  leaseSeconds: number;
  /**
   * How long before the lease ends the library renews it (ms; default 60 s). Tests shorten the
   * renewal period with it: the UPnP client never asks for less than a one-hour lease.
   */
  renewBeforeExpiryMs?: number;
  log?: (line: string) => void;
  /** How long to look for a UPnP gateway (ms). */
  discoveryTimeoutMs?: number;
};

/** The gateway address of the IPv4 default route, from Linux's /proc/net/route (OpenWrt included). */
export function defaultGatewayFromRouteTable(table: string): string | undefined {
  for (const line of table.split("\n").slice(1)) {
    const [, destination, gateway, flags] = line.trim().split(/\s+/);
    // Destination 0.0.0.0 with the gateway flag (0x2): the default route. Fields are little-endian hex.
    if (destination !== "00000000" || gateway === undefined || (parseInt(flags ?? "0", 16) & 2) === 0) continue;
    const n = parseInt(gateway, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
  }
  return undefined;
}

/** The first non-internal IPv4 address of this box. */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal && !a.address.startsWith("169.254.")) return a.address;
  }
  return undefined;
}

/**
 * A port forward on the home router (UPnP IGD v2 or NAT-PMP, by @achingbrain/nat-port-mapper):
 * `start()` maps the node's port and learns the router's public address, the library renews the
 * lease while the node runs, `stop()` removes the mapping and closes the client's sockets.
 * The library is imported on `start()` only, so a node without port mapping never loads it.
 */
export function createPortMapper(p: PortMapperParameters) {
  const log = p.log ?? (() => {});
  let gateway: Gateway | undefined;
  let mapping: PortMapping | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  const renewBeforeMs = p.renewBeforeExpiryMs ?? 60_000;
  return {
    /** Maps the port; resolves with the mapping, rejects with PortMappingError. */
    async start(): Promise<PortMapping> {
      const nat = await import("@achingbrain/nat-port-mapper");
      const options = { ttl: p.leaseSeconds * 1000, autoRefresh: true, refreshThreshold: renewBeforeMs, description: "bandmint node" };
      const internalHost = p.internalHost ?? lanAddress();
      if (internalHost === undefined) throw new PortMappingError("this box has no LAN (non-loopback IPv4) address to forward to; set portMapping.internalHost");
      try {
        if (p.protocol === "upnp") {
          const client = nat.upnpNat(options);
          if (p.gateway !== undefined) gateway = await client.getGateway(new URL(p.gateway), { signal: AbortSignal.timeout(10_000) });
          else {
            for await (const found of client.findGateways({ signal: AbortSignal.timeout(p.discoveryTimeoutMs ?? 10_000) })) {
              gateway = found;
              break;
            }
          }
          if (gateway === undefined) throw new PortMappingError("no UPnP IGD v2 gateway answered on the LAN");
        } else {
          const address = p.gateway ?? defaultGatewayFromRouteTable(await readFile("/proc/net/route", "utf8").catch(() => ""));
          if (address === undefined) throw new PortMappingError("cannot tell the router's address; set portMapping.gateway");
          // The library's NAT-PMP client sends `ttl` as seconds but times its renewal in ms, and its
          // stop() cannot send the removal (it closes the socket's state first): this component
          // renews and removes NAT-PMP mappings itself (see stop()).
          gateway = nat.pmpNat(address, { ...options, ttl: p.leaseSeconds, autoRefresh: false });
        }
        const signal = AbortSignal.timeout(10_000);
        const mapped = await gateway.map(p.internalPort, internalHost, { externalPort: p.internalPort, protocol: "tcp", signal });
        if (p.protocol === "natpmp") {
          const g = gateway;
          renewTimer = setInterval(() => {
            g.map(p.internalPort, internalHost, { externalPort: p.internalPort, protocol: "tcp", signal: AbortSignal.timeout(10_000) }).catch((error: Error) => {
              log(`node: could not renew the NAT-PMP mapping (${error.message}); retrying at the next renewal`);
            });
          }, Math.max(100, p.leaseSeconds * 1000 - renewBeforeMs));
          renewTimer.unref();
        }
        if (mapped.externalPort !== p.internalPort) log(`node: the router gave public port ${mapped.externalPort} instead of ${p.internalPort}; if it is not removed on stop, its lease ends it`);
        const externalHost = await gateway.externalIp({ signal: AbortSignal.timeout(10_000) });
        mapping = { protocol: p.protocol, gateway: p.gateway ?? gateway.host, externalHost, externalPort: mapped.externalPort, internalHost, internalPort: p.internalPort, mappedAt: Date.now() };
        log(`node: ${p.protocol} port mapping ${externalHost}:${mapping.externalPort} -> ${internalHost}:${p.internalPort} (lease ${p.leaseSeconds} s, renewed while running)`);
        return mapping;
      } catch (error) {
        await this.stop();
        throw error instanceof PortMappingError ? error : new PortMappingError(`${p.protocol} request failed: ${(error as Error).message}`, error);
      }
    },
    /** The current mapping, if any. */
    current: (): PortMapping | undefined => mapping,
    /** Removes the mapping (best effort: a router that is gone cannot be asked) and closes the client. */
    async stop(): Promise<void> {
      const g = gateway;
      gateway = undefined;
      const had = mapping;
      mapping = undefined;
      if (renewTimer !== undefined) clearInterval(renewTimer);
      renewTimer = undefined;
      if (g === undefined) return;
      try {
        // NAT-PMP: removal is a mapping with lifetime 0 (RFC 6886 §3.4), sent while the socket is open.
        if (p.protocol === "natpmp" && had !== undefined) await g.unmap(p.internalPort, { autoRefresh: false, signal: AbortSignal.timeout(5_000) } as never);
        await g.stop({ signal: AbortSignal.timeout(5_000) });
        if (had) log(`node: removed the port mapping ${had.externalHost}:${had.externalPort}`);
      } catch (error) {
        log(`node: could not remove the port mapping (${(error as Error).message}); the router drops it when the lease ends`);
      }
    },
  };
}

/** A port mapper (see createPortMapper). */
export type PortMapper = ReturnType<typeof createPortMapper>;
