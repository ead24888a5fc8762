/**
 * Test support: the MongoDB store on a real server named by MONGODB_URI (FHIR R4 §3.1.0 http.html:
 * the same contract and HTTP suites as the embedded store). Each store opened here gets a database of
 * its own (`<MONGODB_DB>_test_<pid>_<n>`), dropped when the store closes, so suites never see each
 * other's data and a shared server is left clean.
 */
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../../config/config';
import type { Store } from '../../store';
import { MongoStore } from '../mongo-store';

export interface RealMongo {
  /** The URI with any password replaced by `***`, for test titles and logs. */
  redactedUri: string;
  openStore(): Promise<Store>;
  /** Drops the databases of stores that were not closed. */
  dropAll(): Promise<void>;
}

let counter = 0;

/** The real server of MONGODB_URI (read through src/config), or undefined when it is not set. */
export function realMongo(): RealMongo | undefined {
  const config = loadConfig();
  const uri = config.mongodbUri;
  if (uri === undefined) return undefined;
  const open = new Map<string, MongoClient>();
  const drop = async (name: string, client: MongoClient): Promise<void> => {
    open.delete(name);
    try {
      await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  };
  return {
    redactedUri: uri.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
    async openStore() {
      const name = `${config.mongodbDb}_test_${process.pid}_${++counter}`;
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: config.mongodbTimeoutMs, writeConcern: { w: 'majority', journal: true } });
      await client.connect();
      open.set(name, client);
      const store = await MongoStore.open({ client, dbName: name, transactions: config.mongodbTransactions, ownsClient: false });
      const close = store.close.bind(store);
      store.close = async () => {
        await close();
        if (open.has(name)) await drop(name, client);
      };
      return store;
    },
    async dropAll() {
      for (const [name, client] of [...open]) await drop(name, client);
    },
  };
}

/**
 * A Store usable at once whose operations wait for `opening` (the MongoDB store opens
 * asynchronously; the HTTP test helper builds its services synchronously).
 */
export function deferredStore(opening: Promise<Store>): Store {
  // A rejection is reported by the first operation, not as an unhandled rejection.
  opening.catch(() => undefined);
  const store: Store = {
    name: 'mongodb',
    read: async (t, id) => (await opening).read(t, id),
    vread: async (t, id, v) => (await opening).vread(t, id, v),
    write: async (op) => (await opening).write(op),
    history: async (q) => (await opening).history(q),
    search: async (q) => (await opening).search(q),
    withTransaction: async (fn) => (await opening).withTransaction(fn),
    reindex: async (t, id, v, index) => {
      const s = await opening;
      if (!s.reindex) throw new Error('the store cannot reindex');
      return s.reindex(t, id, v, index);
    },
    claimRequest: async (key, pendingUntil, now) => {
      const s = await opening;
      return s.claimRequest ? s.claimRequest(key, pendingUntil, now) : undefined;
    },
    rememberResponse: async (key, response, expiresAt) => (await opening).rememberResponse?.(key, response, expiresAt),
    releaseRequest: async (key) => (await opening).releaseRequest?.(key),
    close: async () => (await opening).close(),
  };
  return store;
}
