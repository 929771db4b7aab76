/** comlink over worker_threads: the node adapter, with the type shim NodeNext needs (comlink ships no exports map). */
import * as Comlink from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

/** A worker_threads port or Worker as a comlink Endpoint. */
export const nodeEndpoint = adapter as unknown as (port: unknown) => Comlink.Endpoint;
export { Comlink };
