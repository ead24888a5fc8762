/**
 * Connecting the MongoDB store to a server with the official driver (FHIR R4 §3.1.0 http.html: the
 * storage behind the RESTful API; MongoDB connection string and write concern documentation).
 *
 * Fails fast: server selection gives up after `serverSelectionTimeoutMS` (a request then answers 503
 * instead of hanging); acknowledged writes are durable: majority write concern with journal.
 */
import { MongoClient } from 'mongodb';
import type { DriverClient } from './driver';
import { mapDriverError } from './errors';
import { MongoStore } from './mongo-store';

export interface MongoConnectOptions {
  uri: string;
  dbName: string;
  transactions: boolean;
  /** How long an operation waits for a usable server before failing (ms). */
  serverSelectionTimeoutMS: number;
}

export async function openMongoStore(o: MongoConnectOptions): Promise<MongoStore> {
  const client = new MongoClient(o.uri, {
    serverSelectionTimeoutMS: o.serverSelectionTimeoutMS,
    connectTimeoutMS: Math.max(1000, o.serverSelectionTimeoutMS),
    writeConcern: { w: 'majority', journal: true },
    readConcern: { level: 'majority' },
    retryWrites: true,
    retryReads: true,
    appName: 'spine-fhir-server',
  });
  try {
    await client.connect();
  } catch (e) {
    await client.close().catch(() => undefined);
    const mapped = mapDriverError(e);
    throw mapped instanceof Error && mapped !== e ? new Error(`cannot reach MongoDB at MONGODB_URI within ${o.serverSelectionTimeoutMS} ms: ${e instanceof Error ? e.message : String(e)}`) : e;
  }
  const driver: DriverClient = client;
  try {
    return await MongoStore.open({ client: driver, dbName: o.dbName, transactions: o.transactions });
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}
