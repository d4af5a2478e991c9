/**
 * Who acts when no person does: pscsd itself (its start and stop, scheduled and disk-pressure purges,
 * reconciliation, camera clocks, pausing for disk pressure; sign-in throttling, with the address it
 * acted on as `client`). One definition, so every such entry names the same actor and an auditor can
 * filter on it.
 */
export const SYSTEM_ACTOR: Readonly<{ actor: "system"; role: null; client: "daemon" }> = {
  actor: "system",
  role: null,
  client: "daemon",
};
