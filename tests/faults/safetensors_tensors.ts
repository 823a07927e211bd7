/** The tensors of the safetensors fault runs, shared with the rank process (safetensors_rank.ts). */
import type { Tensor } from "../../src/safetensors/dtypes.ts";
import { makeTensor } from "../safetensors_fixture.ts";

/** Rank `rank`'s tensors: three F32 tensors of 192 KiB to 704 KiB (several parts each), from `seed`. */
export function rankTensors(rank: number, seed: number): Map<string, Tensor> {
  return new Map(
    [0, 1, 2].map((
      i,
    ) => [`layer.${rank}.${i}`, makeTensor("F32", [(48 + 64 * i) * 1024], seed + 10 * rank + i)]),
  );
}
