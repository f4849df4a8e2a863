import { workerData } from "node:worker_threads";
import { openConnection, prepareWrites, type WriterRequest } from "./ticketStore.ts";
import { serveThread } from "./workerThread.ts";

// The ticket store's writer thread (see ticketStore.ts): commits accepted-ticket batches and new
// sessions on its own connection, so the fsync of synchronous=FULL blocks this thread instead of
// the node's event loop. One transaction at a time, in arrival order; each answer says whether its
// transaction is durable.

const { path, synchronous } = workerData as { path: string; synchronous: "FULL" | "NORMAL" };
const db = openConnection(path, synchronous);
serveThread<WriterRequest, void>(prepareWrites(db), () => db.close());
