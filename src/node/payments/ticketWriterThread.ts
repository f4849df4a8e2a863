import { workerData } from "node:worker_threads";
import { openConnection, prepareTicketWrites, type AcceptTicketInput } from "./ticketStore.ts";
import { serveThread } from "./workerThread.ts";

// The ticket store's writer thread (see ticketStore.ts): commits accepted-ticket batches on its
// own connection, so the fsync of synchronous=FULL blocks this thread instead of the node's event
// loop. One batch at a time, in arrival order; each answer says whether its batch is durable.

const { path, synchronous } = workerData as { path: string; synchronous: "FULL" | "NORMAL" };
const db = openConnection(path, synchronous);
serveThread<readonly AcceptTicketInput[], void>(prepareTicketWrites(db), () => db.close());
