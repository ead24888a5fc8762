/**
 * A `MongoSearchTarget` over in-memory `resources` documents evaluated by mingo (FHIR R4 §3.1.1
 * search.html, as compiled by run.ts): the differential tests run the compiled pipelines through it,
 * since no MongoDB server can run on the build machines. Test support only; the store uses the driver.
 *
 * mingo differs from MongoDB in one way that matters here: it compares strings by UTF-16 code units,
 * MongoDB (without a collation) by UTF-8 bytes, i.e. code points. They disagree only between
 * characters above U+FFFF and those in U+E000..U+FFFF, which the tests do not generate.
 */
import { Aggregator } from 'mingo';
import type { MongoDoc } from './filter';
import type { MongoSearchTarget } from './run';

export const RESOURCES_COLLECTION = 'resources';

/** `docs()` gives the current documents of the `resources` collection at each call. */
export function mingoTarget(docs: () => MongoDoc[]): MongoSearchTarget {
  return {
    collectionName: RESOURCES_COLLECTION,
    aggregate: (pipeline) => {
      const all = docs();
      const agg = new Aggregator(pipeline, { collectionResolver: (name: string) => (name === RESOURCES_COLLECTION ? all : []) });
      // Round-trip through structuredClone: results are plain values, never references into the documents.
      return Promise.resolve(structuredClone(agg.run<MongoDoc>(all)));
    },
  };
}
