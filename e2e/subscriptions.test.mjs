// graphql-ws (graphql-transport-ws) against the real server: alice subscribes to the
// demo thread over a WebSocket carrying her session cookie and the site's own Origin,
// and receives the message that bob, signed in separately over HTTP, posts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  CLIENT_ADDRESS,
  DEMO_THREAD_ID,
  ORIGIN,
  WS_URL,
  assertNoClientAddress,
  cookieFetch,
  post,
  seenBodies,
  signIn,
} from "./support.mjs";

/** A `ws` WebSocket that sends the given Cookie and Origin headers, as a browser would. */
function webSocketWith({ cookie, origin }) {
  return class BrowserLikeWebSocket extends WebSocket {
    constructor(address, protocols) {
      super(address, protocols, { headers: cookie ? { cookie } : {}, origin });
      this.on("message", (data) => seenBodies.push(data.toString()));
    }
  };
}

const THREAD_MESSAGE_ADDED = /* GraphQL */ `
  subscription Added($threadId: ID!) {
    threadMessageAdded(threadId: $threadId) { id body createdAt author { username } thread { id } }
  }
`;
const POST_MESSAGE = /* GraphQL */ `
  mutation Post($input: PostMessageInput!) {
    postMessage(input: $input) { message { id body } userErrors { field message code } }
  }
`;

test("a subscriber receives the message another member posts", async (t) => {
  const alice = cookieFetch();
  const bob = cookieFetch();
  await signIn(alice, "alice");
  await signIn(bob, "bob");

  let connected;
  const ready = new Promise((resolve) => (connected = resolve));
  const client = createClient({
    url: WS_URL,
    webSocketImpl: webSocketWith({ cookie: alice.cookieHeader(), origin: ORIGIN }),
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => connected() },
  });
  t.after(() => client.dispose());
  await ready;

  const received = [];
  let arrived;
  const firstArrival = new Promise((resolve, reject) => {
    arrived = resolve;
    client.subscribe(
      { query: THREAD_MESSAGE_ADDED, variables: { threadId: DEMO_THREAD_ID } },
      {
        next: (result) => {
          if (result.errors) reject(new Error(JSON.stringify(result.errors)));
          else {
            received.push(result.data.threadMessageAdded);
            resolve();
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(String(error?.reason ?? error))),
        complete: () => {},
      },
    );
  });

  // The server starts listening a moment after "subscribe"; bob posts until alice hears one
  // (normally the first), then every message bob posted must be among those she received.
  await sleep(250);
  const posted = [];
  const deadline = Date.now() + 15_000;
  let done = false;
  firstArrival.then(() => (done = true), () => (done = true));
  while (!done && Date.now() < deadline) {
    const body = `Bob says hello over HTTP (${posted.length + 1}, ${Date.now()})`;
    const data = await post(bob, POST_MESSAGE, { input: { threadId: DEMO_THREAD_ID, body } });
    assert.deepEqual(data.postMessage.userErrors, []);
    posted.push(data.postMessage.message);
    await Promise.race([firstArrival.catch(() => {}), sleep(1000)]);
  }
  await Promise.race([firstArrival, sleep(1000)]);
  assert.ok(received.length > 0, `no message arrived after bob posted ${posted.length}`);

  t.diagnostic(`bob posted ${posted.length} message(s) before alice heard one`);
  const message = received[0];
  assert.ok(posted.some((sent) => sent.id === message.id), "received a message bob did not post");
  const sent = posted.find((candidate) => candidate.id === message.id);
  assert.equal(message.body, sent.body);
  assert.equal(message.author.username, "bob");
  assert.equal(message.thread.id, DEMO_THREAD_ID);

  for (const payload of received.map((m) => JSON.stringify(m))) {
    assert.ok(!payload.includes(CLIENT_ADDRESS), `a message shows ${CLIENT_ADDRESS}`);
  }
});

test("a WebSocket from a foreign Origin is refused", async () => {
  const client = createClient({
    url: WS_URL,
    webSocketImpl: webSocketWith({ origin: "http://evil.example" }),
    lazy: false,
    retryAttempts: 0,
  });
  try {
    const outcome = await new Promise((resolve) => {
      client.on("connected", () => resolve("connected"));
      client.on("closed", () => resolve("closed"));
      client.on("error", () => resolve("error"));
    });
    assert.notEqual(outcome, "connected");
  } finally {
    await client.dispose();
  }
});

test("no response or WebSocket message shows the client's address", () => {
  assert.ok(seenBodies.some((body) => /"type":\s*"next"/.test(body)), "no WebSocket message recorded");
  assertNoClientAddress();
});
