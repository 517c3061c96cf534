/**
 * results.json: the one door to the contract (its TypeBox schema and types) and to its store
 * (run directories, atomic writes, checked reads). Nothing here imports anything of ours.
 */
export * from './schema.js';
export * from './store.js';
