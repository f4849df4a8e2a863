import { parentPort, workerData } from "node:worker_threads";
import { openConnection, prepareTicketWrites, type WriterReply, type WriterRequest } from "./ticketStore.ts";

// The ticket store's writer thread (see ticketStore.ts): commits accepted-ticket batches on its
// own connection, so the fsync of synchronous=FULL blocks this thread instead of the node's event
// loop. One batch at a time, in arrival order; each answer says whether its batch is durable.

const { path, synchronous } = workerData as { path: string; synchronous: "FULL" | "NORMAL" };
const db = openConnection(path, synchronous);
const write = prepareTicketWrites(db);

parentPort!.on("message", (message: WriterRequest) => {
  if ("close" in message) {
    db.close();
    parentPort!.close();
    return;
  }
  let reply: WriterReply;
  try {
    write(message.batch);
    reply = { id: message.id };
  } catch (error) {
    reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply);
});
