/**
 * `make(key)` at most once per key, for as long as the key lives: one router or claim store per Redis
 * connection, so that every node of a runtime shares one subscription or one backlog.
 */
export function onePer<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    if (made.has(key)) return made.get(key) as V;
    const value = make(key);
    made.set(key, value);
    return value;
  };
}
