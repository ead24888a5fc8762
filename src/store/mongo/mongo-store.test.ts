/**
 * Runs the store contract suite (FHIR R4 §3.1.0 http.html, §3.1.1 search.html) against the MongoDB
 * store: always over the driver test double (testing/mingo-db.ts), and over a real MongoDB when
 * MONGODB_URI names one (each store then gets a fresh database, dropped afterwards).
 */
import { describeStoreContract } from '../contract/store-contract';
import { MongoStore } from './mongo-store';
import { MingoClient } from './testing/mingo-db';
import { realMongo } from './testing/real-mongo';

const fast = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describeStoreContract('mongodb over the mingo driver double', async () => MongoStore.open({ client: new MingoClient(), dbName: 'fhir', sleep: fast }));

const real = realMongo();
if (real) {
  describeStoreContract(`mongodb at ${real.redactedUri}`, () => real.openStore());
  after(() => real.dropAll());
} else {
  describe('Store contract: real MongoDB', () => {
    it('runs against MONGODB_URI', function () {
      console.log('    MONGODB_URI is not set: the store contract suite against a real MongoDB is skipped (npm run test:mongo runs it)');
      this.skip();
    });
  });
}
