// Device groups formed by memory (seed 004, "VRAM-Based GPU Grouping"): devices sorted by id; from
// the first device not yet placed, the smallest block of 1, 2, 4 or 8 consecutive devices whose
// memory together reaches the model's need becomes a group; a device that starts no such block is
// left out. Pure and reproducible: the same devices and need always give the same groups.

export interface DeviceMemory {
  readonly id: number;
  /** bytes this device offers the worker */
  readonly memoryBytes: number;
}

export const GROUP_SIZES = [1, 2, 4, 8] as const;

export interface DeviceGrouping {
  /** device ids of each group, ascending; group ids are the indexes */
  readonly groups: number[][];
  /** devices in no group */
  readonly unused: number[];
}

export function formGroups(devices: readonly DeviceMemory[], needBytes: number): DeviceGrouping {
  const ids = new Set<number>();
  for (const d of devices) {
    if (!Number.isSafeInteger(d.id) || d.id < 0) throw new RangeError(`device groups: device id ${d.id} is not an integer ≥ 0`);
    if (ids.has(d.id)) throw new RangeError(`device groups: device id ${d.id} listed twice`);
    if (!(d.memoryBytes >= 0)) throw new RangeError(`device groups: device ${d.id} has no memory figure`);
    ids.add(d.id);
  }
  const left = [...devices].sort((a, b) => a.id - b.id);
  const groups: number[][] = [];
  const unused: number[] = [];
  while (left.length > 0) {
    let formed = false;
    for (const size of GROUP_SIZES) {
      if (left.length < size) break;
      const block = left.slice(0, size);
      if (block.reduce((s, d) => s + d.memoryBytes, 0) >= needBytes) {
        groups.push(block.map((d) => d.id));
        left.splice(0, size);
        formed = true;
        break;
      }
    }
    if (!formed) unused.push((left.shift() as DeviceMemory).id);
  }
  return { groups, unused };
}
