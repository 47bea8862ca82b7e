// The emit step: the data-plane config from what the earlier steps derived, in canonical key
// order, and its content hash (emit.ts). It reads no objects of its own.

import type { Processor } from '../core/processor.ts';
import { EmitStage } from './stage.ts';

export const emitProcessor: Processor = {
  name: 'emit',
  step: 90,
  reads: [],
  follows: [],
  stage: (shared) => new EmitStage(shared),
};
