/**
 * The store contract suite (FHIR R4 §3.1.0 http.html: CRUD, versioning, history, transactions;
 * §3.1.1 search.html: search). Every Store implementation runs it:
 *
 *   describeStoreContract('sqlite :memory:', async () => openSqliteStore(':memory:'));
 *
 * `open` must return a new, empty store each time it is called. The suite only uses the Store
 * interface and hand-written IndexEntry arrays, so it does not depend on index extraction.
 */
import type { Store } from '../store';
import { crudContract } from './crud-contract';
import { historyContract } from './history-contract';
import { searchContract } from './search-contract';
import { transactionContract } from './transaction-contract';

export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    crudContract(open);
    historyContract(open);
    transactionContract(open);
    searchContract(open);
  });
}
