/** The first item, in order, for which the asynchronous predicate holds. */
export async function findAsync<T>(items: readonly T[], predicate: (item: T) => Promise<boolean>): Promise<T | undefined> {
  for (const item of items) {
    if (await predicate(item)) return item;
  }
  return undefined;
}
