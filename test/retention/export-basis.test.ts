import { describe, expect, it } from "vitest";
import { isConnecticutSuperiorCourt } from "../../retention/export/basis.js";

// Policy Storage 4: in a civil dispute only "an order issued by a Judge of the Superior Court of Connecticut".
describe("the Superior Court of Connecticut, as people write it", () => {
  it("accepts its usual spellings, in any case, with or without its judicial district", () => {
    for (const court of [
      "Superior Court of Connecticut",
      "connecticut superior court",
      "State of Connecticut Superior Court",
      "Superior Court, State of Connecticut",
      "The Superior Court of the State of Connecticut",
      "SUPERIOR COURT OF CONNECTICUT, JUDICIAL DISTRICT OF NEW HAVEN",
      "Connecticut Superior Court, Geographical Area 10",
      "  Superior   Court  of  Connecticut. ",
    ]) {
      expect(isConnecticutSuperiorCourt(court), court).toBe(true);
    }
  });

  it("refuses any other court: federal, another state's, another Connecticut court", () => {
    for (const court of [
      "United States District Court for the District of Connecticut",
      "U.S. District Court, District of Connecticut",
      "Superior Court of California",
      "New York Supreme Court",
      "Connecticut Appellate Court",
      "Connecticut Supreme Court",
      "Superior Court",
      "Connecticut Probate Court",
      "Superior Court of Connecticut Avenue Associates",
    ]) {
      expect(isConnecticutSuperiorCourt(court), court).toBe(false);
    }
  });
});
