/** Partition assignment of a consumer group: a pure function, so every member computes the same answer. */

export interface GroupMemberInfo {
  memberId: string;
  topics: readonly string[];
}

export interface TopicInfo {
  name: string;
  partitions: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Deals the partitions of every topic round-robin over the members subscribed to it, members sorted by id and
 * topics by name, with one turn counter across topics so that many small topics still spread evenly.
 * Every member of the result has an entry (possibly empty).
 */
export function assignPartitions(members: readonly GroupMemberInfo[], topics: readonly TopicInfo[]): Map<string, TopicPartition[]> {
  const sorted = [...members].sort((a, b) => byCodeUnits(a.memberId, b.memberId));
  const result = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
  let turn = 0;
  for (const topic of [...topics].sort((a, b) => byCodeUnits(a.name, b.name))) {
    const eligible = sorted.filter((m) => m.topics.includes(topic.name));
    if (eligible.length === 0) continue;
    for (let partition = 0; partition < topic.partitions; partition++) {
      result.get(eligible[turn % eligible.length]!.memberId)!.push({ topic: topic.name, partition });
      turn++;
    }
  }
  return result;
}
