// Datasets through seeded 503 SlowDown answers, connection resets before headers and bodies truncated
// mid-stream at 1 %, 10 % and 30 % of all requests: every object arrives exactly once, byte-exact.
import { pct, RATES } from "./fault_fixture.ts";
import { BEHAVIOUR, datasetRun } from "./dataset_scenario.ts";

for (const [s, scenario] of (["slowdown", "reset", "truncate"] as const).entries()) {
  for (const [r, rate] of RATES.entries()) {
    Deno.test(
      `iterable and map datasets deliver every object exactly once byte-exact through ${pct(rate)} ${
        BEHAVIOUR[scenario]
      }`,
      () => datasetRun(scenario, rate, 1000 + 10 * s + r),
    );
  }
}
