import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ORCHESTRATOR_DIR } from '../sys/repo.js';

const Positive = Type.Number({ exclusiveMinimum: 0 });

export const PriceSheetSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    source: Type.String({ minLength: 1 }),
    currency: Type.String({ minLength: 1 }),
    vcpuHour: Type.Number({ minimum: 0 }),
    gbHour: Type.Number({ minimum: 0 }),
    memory: Type.Object({
      /** Memory given over peak resident memory measured. */
      headroom: Type.Number({ minimum: 1 }),
      minGBPerVcpu: Type.Number({ minimum: 0 }),
      stepGB: Positive,
    }),
    notes: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);
export type PriceSheet = Static<typeof PriceSheetSchema>;

export const DEFAULT_PRICES = join(ORCHESTRATOR_DIR, 'prices', 'aws-fargate-us-east-1.json');

/** Read and check a price sheet: a bad one is refused with the field named. */
export function readPrices(file = DEFAULT_PRICES): PriceSheet {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `${file}: cannot read price sheet (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const first = [...Value.Errors(PriceSheetSchema, data)][0];
  if (first) throw new Error(`${file}: ${first.path || '/'} ${first.message}`);
  return data as PriceSheet;
}

/** Memory a replica is given (GB): what it held × headroom, in the sheet's steps, at least its minimum. */
export function billedGB(rssMB: number, vcpus: number, p: PriceSheet): number {
  const need = (rssMB * p.memory.headroom) / 1024;
  const stepped = Math.ceil(need / p.memory.stepGB - 1e-9) * p.memory.stepGB;
  return Math.max(stepped, p.memory.minGBPerVcpu * vcpus);
}

export const hourlyCost = (vcpus: number, gb: number, p: PriceSheet) => vcpus * p.vcpuHour + gb * p.gbHour;
