/** The revert data of a refused eth_call, wherever ethers put it. */
export function revertData(error: unknown): string | undefined {
  let current = error as Record<string, unknown> | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    const data = current['data'];
    if (typeof data === 'string' && data.startsWith('0x')) return data;
    const info = current['info'] as Record<string, unknown> | undefined;
    current = (typeof data === 'object' && data !== null ? data : (info?.['error'] ?? current['error'])) as
      Record<string, unknown> | undefined;
  }
  return undefined;
}
