import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { isoInZone, isTimeZone, localAndUtc, parseTime } from "../../src/time/parse.js";

const ok = (text: string, zone: string) => {
  const r = parseTime(text, zone);
  if (!r.ok) throw new Error(r.reason);
  return new Date(r.ms).toISOString();
};
const refusal = (text: string, zone: string) => {
  const r = parseTime(text, zone);
  if (r.ok) throw new Error(`'${text}' was accepted as ${new Date(r.ms).toISOString()}`);
  return r.reason;
};

describe("times typed by people (src/time/parse.ts)", () => {
  it("reads a time without an offset in the given zone, whatever the process's TZ", () => {
    expect(ok("2026-11-24T08:00", "America/New_York")).toBe("2026-11-24T13:00:00.000Z");
    expect(ok("2026-11-24 08:00", "America/New_York")).toBe("2026-11-24T13:00:00.000Z");
    expect(ok("2026-07-01T08:00:30.25", "America/New_York")).toBe("2026-07-01T12:00:30.250Z");
    expect(ok("2026-11-24T08:00", "Asia/Tokyo")).toBe("2026-11-23T23:00:00.000Z");
    expect(ok("2026-11-24T08:00", "UTC")).toBe("2026-11-24T08:00:00.000Z");
    // A date alone is that day's midnight in the zone (Date.parse would read it as UTC).
    expect(ok("2026-07-01", "Europe/Berlin")).toBe("2026-06-30T22:00:00.000Z");
  });

  it("takes an explicit offset or Z as given, in any zone, and epoch ms as UTC", () => {
    for (const zone of ["UTC", "America/New_York", "Asia/Tokyo"]) {
      expect(ok("2026-11-24T13:00:00Z", zone)).toBe("2026-11-24T13:00:00.000Z");
      expect(ok("2026-11-24T08:00-05:00", zone)).toBe("2026-11-24T13:00:00.000Z");
      expect(ok("2026-11-24T18:30+0530", zone)).toBe("2026-11-24T13:00:00.000Z");
      expect(ok("1795525200000", zone)).toBe("2026-11-24T13:00:00.000Z");
      expect(ok("0", zone)).toBe("1970-01-01T00:00:00.000Z");
    }
  });

  it("refuses everything that is not ISO 8601, and dates that do not exist", () => {
    for (const bad of [
      "12/01/2026 05:44",
      "01.12.2026",
      "Dec 1 2026",
      "yesterday",
      "2026-12-01T5:44",
      "2026-13-01",
      "2026-02-29",
      "2026-04-31T00:00",
      "2026-01-01T24:00",
      "2026-01-01T10:60",
      "2026-01-01T10:00+25:00",
      "2026-01-01Z",
      "",
    ]) {
      expect(refusal(bad, "UTC")).toMatch(/^expected an ISO 8601 time/);
    }
    expect(ok("2028-02-29", "UTC")).toBe("2028-02-29T00:00:00.000Z");
  });

  it("refuses a local time the clocks skip (spring forward), naming the offsets that would be exact", () => {
    const why = refusal("2026-03-08T02:30", "America/New_York");
    expect(why).toBe(
      "'2026-03-08T02:30' does not exist in America/New_York (the clocks went forward over it); give the offset, e.g. 2026-03-08T02:30-05:00 or 2026-03-08T02:30-04:00",
    );
    // Either suggestion is then accepted.
    expect(ok("2026-03-08T02:30-05:00", "America/New_York")).toBe("2026-03-08T07:30:00.000Z");
    // The minutes either side of the gap are fine.
    expect(ok("2026-03-08T01:59:59", "America/New_York")).toBe("2026-03-08T06:59:59.000Z");
    expect(ok("2026-03-08T03:00", "America/New_York")).toBe("2026-03-08T07:00:00.000Z");
    expect(refusal("2026-03-29T01:15", "Europe/London")).toMatch(/does not exist in Europe\/London/);
  });

  it("refuses a local time the clocks repeat (fall back), offering both readings", () => {
    expect(refusal("2026-11-01T01:30", "America/New_York")).toBe(
      "'2026-11-01T01:30' happens twice in America/New_York (the clocks went back over it); give the offset: 2026-11-01T01:30-04:00 or 2026-11-01T01:30-05:00",
    );
    expect(ok("2026-11-01T01:30-04:00", "America/New_York")).toBe("2026-11-01T05:30:00.000Z");
    expect(ok("2026-11-01T01:30-05:00", "America/New_York")).toBe("2026-11-01T06:30:00.000Z");
    expect(ok("2026-11-01T02:00", "America/New_York")).toBe("2026-11-01T07:00:00.000Z");
    // A half-hour shift (Lord Howe Island) is found the same way.
    expect(refusal("2026-04-05T01:45", "Australia/Lord_Howe")).toMatch(/\+11:00 or .*\+10:30$/);
  });

  it("echoes a time as the site's local time and as UTC", () => {
    expect(localAndUtc(Date.UTC(2026, 10, 24, 13), "America/New_York")).toBe(
      "2026-11-24 08:00 EST (2026-11-24T13:00:00Z)",
    );
    expect(localAndUtc(Date.UTC(2026, 6, 1, 12, 0, 30, 250), "America/New_York")).toBe(
      "2026-07-01 08:00:30.250 EDT (2026-07-01T12:00:30.250Z)",
    );
    expect(localAndUtc(Date.UTC(2026, 10, 24, 13), "UTC")).toBe(
      "2026-11-24 13:00 UTC (2026-11-24T13:00:00Z)",
    );
  });

  it("states an instant as ISO 8601 in the site's zone, milliseconds and offset always, as a manifest does", () => {
    expect(isoInZone(Date.UTC(2026, 10, 24, 13), "America/New_York")).toBe("2026-11-24T08:00:00.000-05:00");
    expect(isoInZone(Date.UTC(2026, 6, 1, 12, 0, 30, 250), "America/New_York")).toBe(
      "2026-07-01T08:00:30.250-04:00",
    );
    expect(isoInZone(Date.UTC(2026, 0, 1, 0, 0, 0, 1), "Asia/Kolkata")).toBe("2026-01-01T05:30:00.001+05:30");
    expect(isoInZone(Date.UTC(2026, 0, 1), "UTC")).toBe("2026-01-01T00:00:00.000+00:00");
    // Read back, each is the same instant.
    for (const t of [Date.UTC(2026, 2, 8, 7, 30), Date.UTC(2026, 10, 1, 5, 30)])
      expect(Date.parse(isoInZone(t, "America/New_York"))).toBe(t);
  });

  it("site.timezone is an IANA zone Intl knows, UTC by default", () => {
    const base = {
      storage: { recordings: "r", evidence: "e", catalog: "c.db" },
      cameras: [{ id: "cam1", name: "C", onvif: { host: "h", user: "u", password: "p" } }],
    };
    expect(configSchema.parse(base).site.timezone).toBe("UTC");
    expect(configSchema.parse({ ...base, site: { timezone: "America/New_York" } }).site).toEqual({
      name: "PSCS",
      timezone: "America/New_York",
    });
    for (const zone of ["Mars/Olympus_Mons", "EST", "+05:00", "local", ""]) {
      expect(isTimeZone(zone)).toBe(false);
      const r = configSchema.safeParse({ ...base, site: { timezone: zone } });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["site", "timezone"]);
    }
  });
});
