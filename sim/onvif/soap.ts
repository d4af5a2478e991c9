import { XMLParser, XMLValidator } from "fast-xml-parser";

/**
 * SOAP 1.2 envelopes for the simulated camera: parsing requests (namespace prefixes dropped, since
 * clients pick their own) and writing responses and faults with the ONVIF namespaces. ONVIF is
 * SOAP 1.2 only: a SOAP 1.1 request gets SOAP 1.2's answer for it, a VersionMismatch fault written
 * in SOAP 1.1 with an Upgrade header naming the 1.2 envelope (SOAP 1.2 part 1, appendix A).
 */

export const NS = {
  env: "http://www.w3.org/2003/05/soap-envelope",
  tds: "http://www.onvif.org/ver10/device/wsdl",
  trt: "http://www.onvif.org/ver10/media/wsdl",
  tptz: "http://www.onvif.org/ver20/ptz/wsdl",
  tt: "http://www.onvif.org/ver10/schema",
  ter: "http://www.onvif.org/ver10/error",
  wsse: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
  wsu: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
} as const;

/** A parsed XML element: child elements by local name, attributes under "@_name", text under "#text". */
export type XmlNode = { [key: string]: XmlNode | XmlNode[] | string | undefined };

export interface SoapRequest {
  /** Local name of the Body's first element, e.g. "GetProfiles". */
  action: string;
  body: XmlNode;
  header: XmlNode | undefined;
}

/**
 * A SOAP fault to answer with. `code` is env:Sender or env:Receiver; `subcodes` the ONVIF ter: chain.
 * ONVIF core spec §5.11: Sender faults go out as HTTP 400, Receiver faults as HTTP 500.
 */
export class SoapFault extends Error {
  constructor(
    readonly code: "env:Sender" | "env:Receiver" | "env:VersionMismatch",
    readonly subcodes: string[],
    readonly reason: string,
    readonly httpStatus: number = code === "env:Sender" ? 400 : 500,
  ) {
    super(reason);
    this.name = "SoapFault";
  }
}

/** The envelope was not SOAP 1.2's: `soap11` when it was SOAP 1.1's, answered in SOAP 1.1. */
export class VersionMismatch extends SoapFault {
  constructor(readonly soap11: boolean) {
    super(
      "env:VersionMismatch",
      [],
      soap11 ? "SOAP 1.1 envelope: this device speaks SOAP 1.2" : "not a SOAP 1.2 envelope",
      500,
    );
    this.name = "VersionMismatch";
  }
}

const SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/";
/** Deeper than any ONVIF request (a PTZ preset tour is about 8); the parser's own stack stays small. */
export const MAX_DEPTH = 32;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  maxNestedTags: MAX_DEPTH,
});

/** The namespace of the document's root element, and its local name. */
function rootElement(xml: string): { local: string; ns: string | undefined } | undefined {
  const m =
    /^\s*(?:(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->)\s*)*<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([^>]*)>/.exec(xml);
  if (!m) return undefined;
  const prefix = m[1] ? `:${m[1].slice(0, -1).replaceAll(".", "\\.")}` : "";
  const decl = new RegExp(`\\sxmlns${prefix}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(m[3] ?? "");
  return { local: m[2] as string, ns: decl ? (decl[1] ?? decl[2]) : undefined };
}

export function parseRequest(xml: string): SoapRequest {
  if (xml.trim() === "" || XMLValidator.validate(xml) !== true) {
    throw new SoapFault("env:Sender", ["ter:WellFormed"], "request is not well-formed XML");
  }
  // SOAP 1.2 forbids a DTD, and refusing it keeps entity-expansion bombs out of the parser.
  if (/<!DOCTYPE/i.test(xml)) {
    throw new SoapFault("env:Sender", ["ter:WellFormed"], "a SOAP message must not contain a DTD");
  }
  const root = rootElement(xml);
  if (root?.local === "Envelope" && root.ns !== NS.env) throw new VersionMismatch(root.ns === SOAP11_ENV);
  let doc: XmlNode;
  try {
    doc = parser.parse(xml) as XmlNode;
  } catch (e) {
    // Whatever the parser refuses is the document's fault, not the camera's.
    const reason = /nested/i.test((e as Error).message)
      ? `request nested deeper than ${MAX_DEPTH} elements`
      : `request could not be parsed: ${(e as Error).message}`;
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], reason);
  }
  const envelope = child(doc, "Envelope");
  const body = envelope && child(envelope, "Body");
  if (!body) throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], "no SOAP 1.2 Envelope/Body");
  const action = Object.keys(body).find((k) => !k.startsWith("@_") && k !== "#text");
  if (!action) throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], "empty SOAP Body");
  const payload = body[action];
  return {
    action,
    body: typeof payload === "object" && !Array.isArray(payload) ? payload : {},
    header: child(envelope, "Header"),
  };
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  const v = node?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return undefined;
  return typeof first === "string" ? { "#text": first } : first;
}

/** The text of every `name` child, for elements that may repeat. */
export function texts(node: XmlNode | undefined, name: string): string[] {
  const v = node?.[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => {
    const t = typeof x === "string" ? x : x["#text"];
    return typeof t === "string" ? t : "";
  });
}

/** The text of the first `name` child: undefined when absent, "" when empty. */
export function text(node: XmlNode | undefined, name: string): string | undefined {
  return texts(node, name)[0];
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.[`@_${name}`];
  return typeof v === "string" ? v : undefined;
}

/** A required element's text, or the ONVIF fault a camera gives for a missing argument. */
export function requireText(node: XmlNode, name: string): string {
  const v = text(node, name);
  if (v === undefined || v === "")
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], `missing ${name}`);
  return v;
}

export function esc(s: string | number | boolean): string {
  return String(s).replace(
    /[<>&"']/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`,
  );
}

const DECLS = Object.entries(NS)
  .map(([p, uri]) => `xmlns:${p}="${uri}"`)
  .join(" ");

export function envelope(bodyXml: string, headerXml = ""): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope ${DECLS}>${headerXml ? `<env:Header>${headerXml}</env:Header>` : "<env:Header/>"}<env:Body>${bodyXml}</env:Body></env:Envelope>`;
}

/** SOAP 1.1 travels as text/xml, SOAP 1.2 as application/soap+xml. */
export function faultContentType(f: SoapFault): string {
  return f instanceof VersionMismatch && f.soap11
    ? "text/xml; charset=utf-8"
    : "application/soap+xml; charset=utf-8";
}

/** SOAP 1.2's Upgrade header block: the envelope this device understands. */
const UPGRADE = `<env:Upgrade xmlns:env="${NS.env}"><env:SupportedEnvelope qname="ns1:Envelope" xmlns:ns1="${NS.env}"/></env:Upgrade>`;

export function faultEnvelope(f: SoapFault): string {
  if (f instanceof VersionMismatch && f.soap11) {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<s11:Envelope xmlns:s11="${SOAP11_ENV}"><s11:Header>${UPGRADE}</s11:Header><s11:Body><s11:Fault><faultcode>s11:VersionMismatch</faultcode><faultstring>${esc(f.reason)}</faultstring></s11:Fault></s11:Body></s11:Envelope>`;
  }
  const sub = f.subcodes.reduceRight(
    (inner, code) => `<env:Subcode><env:Value>${esc(code)}</env:Value>${inner}</env:Subcode>`,
    "",
  );
  return envelope(
    `<env:Fault><env:Code><env:Value>${f.code}</env:Value>${sub}</env:Code><env:Reason><env:Text xml:lang="en">${esc(f.reason)}</env:Text></env:Reason></env:Fault>`,
    f instanceof VersionMismatch ? UPGRADE : "",
  );
}

/** xs:boolean ("true", "false", "1", "0"). */
export function parseBoolean(s: string): boolean {
  const v = s.trim();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], `not an xs:boolean: '${s}'`);
}

/** xs:duration → ms, for the subset cameras see (PT5S, PT0.5S, PT1M30S, P0DT0H0M10S). */
export function parseDuration(s: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s.trim());
  if (!m || s.trim() === "P" || s.trim().endsWith("T")) {
    throw new SoapFault("env:Sender", ["ter:InvalidArgVal"], `not an xs:duration: '${s}'`);
  }
  const [, d, h, min, sec] = m;
  return Math.round(
    ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000,
  );
}

export function formatDuration(ms: number): string {
  return `PT${Number((ms / 1000).toFixed(3))}S`;
}
