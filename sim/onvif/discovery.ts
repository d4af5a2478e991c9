import { randomUUID } from "node:crypto";
import dgram from "node:dgram";
import type { Logger } from "../../src/log/logger.js";
import { esc, parseRequest, SoapFault, text } from "./soap.js";

/**
 * WS-Discovery (ONVIF core §7) for every simulated camera: answers Probe messages that reach the
 * multicast group on the simulator's interface, or its port directly, with one ProbeMatches per
 * camera that is online, sent back to the prober alone.
 * Invariant: a simulator bound to a loopback address joins the group on loopback only and answers
 * only loopback senders, so nothing it sends leaves the host.
 */

export const WS_DISCOVERY = { group: "239.255.255.250", port: 3702 } as const;

/** What a camera says about itself in a ProbeMatch. */
export interface Discoverable {
  /** Stable endpoint reference, `urn:uuid:…`. */
  urn: string;
  scopes: string[];
  /** Device service addresses. */
  xaddrs: string[];
}

/** The Types a simulated camera matches (local names; probes may use any prefix). */
const TYPES = new Set(["NetworkVideoTransmitter", "Device"]);
const NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const NS_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
const isLoopback = (address: string) => address.startsWith("127.") || address === "::1";

/** RFC 3986 scope matching (WS-Discovery's default): the probe's scope is the device's, or a segment-wise prefix of it. */
function scopeMatches(wanted: string, has: string): boolean {
  if (wanted === has) return true;
  return has.startsWith(wanted.endsWith("/") ? wanted : `${wanted}/`);
}

export class DiscoveryResponder {
  private socket: dgram.Socket | undefined;
  private readonly instanceId = Math.floor(Date.now() / 1000);
  private messageNumber = 0;

  constructor(
    private readonly o: {
      /** The simulator's bind address: the interface the group is joined on. */
      host: string;
      port?: number;
      devices: () => Discoverable[];
      log: Logger;
    },
  ) {}

  get port(): number | undefined {
    return this.socket?.address().port;
  }

  async start(): Promise<void> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      // The group's datagrams are delivered only to sockets bound to the wildcard (or the group).
      socket.bind(this.o.port ?? WS_DISCOVERY.port, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const wildcard = this.o.host === "0.0.0.0";
    try {
      socket.addMembership(WS_DISCOVERY.group, wildcard ? undefined : this.o.host);
    } catch (e) {
      socket.close();
      throw e;
    }
    socket.on("message", (msg, from) => this.answer(msg, from));
    socket.on("error", (err) => this.o.log.warn({ err }, "WS-Discovery socket error"));
    this.socket = socket;
  }

  stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    return new Promise((resolve) => (socket ? socket.close(() => resolve()) : resolve()));
  }

  private answer(msg: Buffer, from: dgram.RemoteInfo): void {
    if (isLoopback(this.o.host) && !isLoopback(from.address)) return;
    let request: ReturnType<typeof parseRequest>;
    try {
      request = parseRequest(msg.toString("utf8"));
    } catch (e) {
      // Not ours to answer: multicast groups carry every device's Hello, Bye and garbage alike.
      if (e instanceof SoapFault)
        this.o.log.debug({ from: from.address, reason: e.message }, "WS-Discovery: not a SOAP message");
      else this.o.log.warn({ err: e, from: from.address }, "WS-Discovery: message not understood");
      return;
    }
    if (request.action !== "Probe") return;
    const types = (text(request.body, "Types") ?? "").split(/\s+/).filter(Boolean);
    if (!types.every((t) => TYPES.has(t.replace(/^.*:/, "")))) return;
    const scopes = (text(request.body, "Scopes") ?? "").split(/\s+/).filter(Boolean);
    const relatesTo = text(request.header, "MessageID");
    for (const device of this.o.devices()) {
      if (!scopes.every((s) => device.scopes.some((has) => scopeMatches(s, has)))) continue;
      const reply = Buffer.from(this.probeMatches(device, relatesTo));
      this.socket?.send(reply, from.port, from.address, (err) => {
        if (err) this.o.log.warn({ err, to: from.address }, "WS-Discovery: reply not sent");
      });
    }
    this.o.log.debug({ from: `${from.address}:${from.port}`, types, scopes }, "WS-Discovery probe answered");
  }

  private probeMatches(device: Discoverable, relatesTo: string | undefined): string {
    this.messageNumber += 1;
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="${NS_WSA}" xmlns:d="${NS_WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">` +
      `<env:Header><wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID>` +
      (relatesTo ? `<wsa:RelatesTo>${esc(relatesTo)}</wsa:RelatesTo>` : "") +
      `<wsa:To>${NS_WSA}/role/anonymous</wsa:To><wsa:Action>${NS_WSD}/ProbeMatches</wsa:Action>` +
      `<d:AppSequence InstanceId="${this.instanceId}" MessageNumber="${this.messageNumber}"/></env:Header>` +
      `<env:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>${esc(device.urn)}</wsa:Address></wsa:EndpointReference>` +
      `<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>${esc(device.scopes.join(" "))}</d:Scopes>` +
      `<d:XAddrs>${esc(device.xaddrs.join(" "))}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>`
    );
  }
}
