import { type PolicyQuote, policyRefusal, ServiceError } from "../../src/errors/service-error.js";
import type { BasisInput } from "../../src/exports/export.js";
import { pastDateProblem } from "../hold-rules.js";

/**
 * The legal basis an export is released on, checked against the department's policy ("Storage &
 * Archive Procedures"): pure, so the API and the CLI are refused alike, before anything is stored.
 * Invariant: every refusal names the field (`basis/<name>`) and quotes the policy sentence it
 * enforces, exactly as the policy has it.
 */

const RULE = "Storage & Archive Procedures";

export const POLICY = {
  criminalUse: {
    rule: `${RULE} 1`,
    text: "All recordings, unless being used in a criminal investigation or prosecution shall be destroyed or deleted in accordance with the State of Connecticut Retention Schedule after thirty (30) days.",
  },
  writtenRequest: {
    rule: `${RULE} 2`,
    text: "No images will be stored absent a formal written request on forms provided by the Norwich Police Department.",
  },
  civilOrder: {
    rule: `${RULE} 4`,
    text: "Images collected by the PSCS shall not be made available to parties or discoverable in civil disputes between private litigants except pursuant to an order issued by a Judge of the Superior Court of Connecticut.",
  },
  agencyRequest: {
    rule: `${RULE} 5`,
    text: "Images collected by the PSCS shall not be made available to other governmental agencies absent a formal written request.",
  },
} as const satisfies Record<string, PolicyQuote>;

export const BASIS_TYPES = ["criminal", "agency_request", "court_order"] as const;
export const DISPUTES = ["criminal", "civil"] as const;

/** What each text field of a basis is, for the refusal that finds it missing. */
const TEXT_FIELDS = {
  criminal: {
    caseNumber: "the case number of the investigation or prosecution",
    requestingOfficer: "the requesting officer or prosecutor",
  },
  agency_request: {
    agency: "the requesting government agency",
    requestNumber: "the number of the agency's formal written request",
  },
  court_order: {
    court: "the court that issued the order",
    docketNumber: "the docket number of the order",
    judge: "the judge who issued the order",
  },
} as const;

const MAX_TEXT = 200;

/**
 * Matches the Superior Court of Connecticut as people write it ("Superior Court of Connecticut",
 * "Connecticut Superior Court", "State of Connecticut Superior Court", "Superior Court, State of
 * Connecticut"), optionally naming its judicial district, geographical area or housing session;
 * a federal court or another state's never matches. Applied to the name lower-cased, with commas
 * and full stops dropped and spaces collapsed.
 */
const CT_SUPERIOR_COURT =
  /^(?:the )?(?:(?:state of )?connecticut superior court|superior court (?:of )?(?:the )?(?:state of )?connecticut)(?: (?:for |at )?(?:the )?(?:judicial district|geographical area|housing session)\b.*)?$/;

export function isConnecticutSuperiorCourt(court: string): boolean {
  const name = court.toLowerCase().replace(/[.,]/g, " ").replace(/\s+/g, " ").trim();
  return CT_SUPERIOR_COURT.test(name);
}

/** Which policy rule a basis's fields enforce: the one under which the footage may leave. */
function ruleOf(type: string, dispute?: unknown): PolicyQuote {
  if (type === "criminal") return POLICY.criminalUse;
  if (type === "agency_request") return POLICY.agencyRequest;
  // A criminal court order is the formal written request the footage is kept and released on.
  return dispute === "criminal" ? POLICY.writtenRequest : POLICY.civilOrder;
}

/**
 * The basis as entered, checked: its type known, each field its type needs present (trimmed), its
 * dates real and not after today at the site, its scan present where one is needed, and a civil
 * dispute's court the Superior Court of Connecticut. Returns only the fields of its type. The
 * scan's content (type, size) is checked where it is stored.
 */
export function checkBasis(basis: BasisInput, now: number, timeZone?: string): BasisInput {
  // Read as entered: the API and the CLI hand over what the person typed, whatever the type says.
  const raw = basis as unknown as Record<string, unknown>;
  const type = raw.type;
  if (typeof type !== "string" || !(BASIS_TYPES as readonly string[]).includes(type)) {
    throw new ServiceError(
      "invalid",
      `expected the legal basis, one of ${BASIS_TYPES.join(", ")}`,
      "basis/type",
    );
  }
  const t = type as BasisInput["type"];
  if (t === "court_order" && !(DISPUTES as readonly unknown[]).includes(raw.dispute)) {
    throw policyRefusal(
      "expected the kind of dispute the order is made in: criminal, or civil (between private litigants)",
      "basis/dispute",
      POLICY.civilOrder,
    );
  }
  const policy = ruleOf(t, raw.dispute);
  const text: Record<string, string> = {};
  for (const [name, what] of Object.entries(TEXT_FIELDS[t])) {
    const v = raw[name];
    const value = typeof v === "string" ? v.trim() : "";
    if (!value) throw policyRefusal(`expected ${what}`, `basis/${name}`, policy);
    if (value.length > MAX_TEXT) {
      throw policyRefusal(`at most ${MAX_TEXT} characters: ${what}`, `basis/${name}`, policy);
    }
    text[name] = value;
  }
  if (t === "criminal") {
    return {
      type: t,
      caseNumber: text.caseNumber as string,
      requestingOfficer: text.requestingOfficer as string,
    };
  }
  const dateField = t === "agency_request" ? "requestDate" : "orderDate";
  const date = typeof raw[dateField] === "string" ? (raw[dateField] as string).trim() : "";
  const dateProblem = pastDateProblem(
    date,
    t === "agency_request"
      ? { what: "of the formal written request", late: "the written request cannot be dated" }
      : { what: "the order was issued", late: "the order cannot be dated" },
    now,
    timeZone,
  );
  if (dateProblem) throw policyRefusal(dateProblem, `basis/${dateField}`, policy);
  const scan = raw.scan;
  if (!(scan instanceof Uint8Array) || scan.length === 0) {
    throw policyRefusal(
      t === "agency_request"
        ? "expected the scan of the agency's formal written request"
        : "expected the scan of the court order",
      "basis/scan",
      policy,
    );
  }
  if (t === "agency_request") {
    return {
      type: t,
      agency: text.agency as string,
      requestNumber: text.requestNumber as string,
      requestDate: date,
      scan,
    };
  }
  const dispute = raw.dispute as (typeof DISPUTES)[number];
  const court = text.court as string;
  if (dispute === "civil" && !isConnecticutSuperiorCourt(court)) {
    throw policyRefusal(
      `in a civil dispute between private litigants only an order of the Superior Court of Connecticut releases footage, not one of '${court}'`,
      "basis/court",
      POLICY.civilOrder,
    );
  }
  return {
    type: t,
    dispute,
    court,
    docketNumber: text.docketNumber as string,
    judge: text.judge as string,
    orderDate: date,
    scan,
  };
}

/** The policy rule a basis is released under, for refusals about its scan as stored. */
export function basisRule(basis: BasisInput): PolicyQuote {
  return ruleOf(basis.type, basis.type === "court_order" ? basis.dispute : undefined);
}
