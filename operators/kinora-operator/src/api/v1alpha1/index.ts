export * from './common.types.js';
export * from './transcodejob.types.js';
export * from './countershardset.types.js';
export * from './regionreplica.types.js';
import { CounterShardSetKind } from './countershardset.types.js';
import { RegionReplicaKind } from './regionreplica.types.js';
import { TranscodeJobKind } from './transcodejob.types.js';

/** Every kind this operator serves, in the order the CRDs are written. */
export const KINDS = [TranscodeJobKind, CounterShardSetKind, RegionReplicaKind] as const;
