import { z } from 'zod';

/** One dependency's state in a health answer (@nestjs/terminus): up or down, with what the check found. */
const indicatorSchema = z
  .object({ status: z.enum(['up', 'down']), message: z.string().optional() })
  .loose()
  .meta({ description: 'database: { kind }; chain: { chainId, blockNumber }' });
const indicatorsSchema = z.record(z.string(), indicatorSchema);

/** The health answer: 200 with status ok, or 503 with status error and the dependency that is down. */
export const healthResultSchema = z
  .object({
    status: z.enum(['ok', 'error', 'shutting_down']),
    info: indicatorsSchema.optional(),
    error: indicatorsSchema.optional(),
    details: indicatorsSchema,
  })
  .meta({ id: 'HealthResult' });
