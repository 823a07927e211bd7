// Datasets through seeded latency spikes longer than the client's timeout at 1 %, 10 % and 30 % of all
// requests: the stalled attempts are aborted and retried, and every object arrives exactly once, byte-exact.
import { pct, RATES } from "./fault_fixture.ts";
import { BEHAVIOUR, datasetRun } from "./dataset_scenario.ts";

for (const [r, rate] of RATES.entries()) {
  Deno.test(
    `iterable and map datasets deliver every object exactly once byte-exact through ${
      pct(rate)
    } ${BEHAVIOUR.spike}`,
    () => datasetRun("spike", rate, 2000 + r),
  );
}
