// Apollo Client against the real server: the cookie session, keyset paging with
// fetchMore into InMemoryCache, mutations with userErrors, and a profile round trip.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core";
import { firstValueFrom, filter } from "rxjs";
import {
  DEMO_THREAD_ID,
  GRAPHQL_URL,
  PASSWORD,
  assertNoClientAddress,
  cookieFetch,
} from "./support.mjs";

const fetcher = cookieFetch();

/** Appends each page's edges: `messages(first:, after:)` pages forwards by keyset cursor. */
const appendEdges = {
  keyArgs: false,
  merge(existing, incoming, { args }) {
    if (!existing || !args?.after) return incoming;
    return { ...incoming, edges: [...existing.edges, ...incoming.edges] };
  },
};

const client = new ApolloClient({
  link: new HttpLink({ uri: GRAPHQL_URL, fetch: fetcher, credentials: "include" }),
  cache: new InMemoryCache({
    typePolicies: { Thread: { fields: { messages: appendEdges } } },
  }),
});

const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) { user { id username } userErrors { field message code } }
  }
`;
const VIEWER = gql`
  query Viewer { viewer { id username } }
`;
const THREAD_PAGE = gql`
  query ThreadPage($id: ID!, $after: String) {
    thread(id: $id) {
      id
      title
      messages(first: 1, after: $after) {
        edges { cursor node { id body author { id username } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;
const POST_MESSAGE = gql`
  mutation Post($input: PostMessageInput!) {
    postMessage(input: $input) {
      message { id body author { username } thread { id } }
      userErrors { field message code }
    }
  }
`;
const UPDATE_PROFILE = gql`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      user { id username profile { bio } }
      userErrors { field message code }
    }
  }
`;
const PROFILE = gql`
  query Profile($username: String!) { user(username: $username) { id profile { bio } } }
`;

before(async () => {
  const { data } = await client.mutate({
    mutation: LOGIN,
    variables: { input: { login: "alice", password: PASSWORD } },
  });
  assert.deepEqual(data.login.userErrors, []);
  assert.equal(data.login.user.username, "alice");
  assert.ok(fetcher.jar.has("session"), "login set no session cookie");
});

after(() => client.stop());

test("the session cookie signs Apollo in", async () => {
  const { data } = await client.query({ query: VIEWER, fetchPolicy: "network-only" });
  assert.equal(data.viewer?.username, "alice");
});

test("fetchMore pages a thread by keyset cursor into the cache", async () => {
  const query = client.watchQuery({ query: THREAD_PAGE, variables: { id: DEMO_THREAD_ID } });
  const subscription = query.subscribe(() => {});
  try {
    const first = await firstValueFrom(
      query.pipe(filter((result) => result.dataState === "complete")),
    );
    const page1 = first.data.thread.messages;
    assert.equal(page1.edges.length, 1);
    assert.equal(page1.pageInfo.hasNextPage, true, "the demo thread has more than one message");
    assert.equal(page1.pageInfo.endCursor, page1.edges[0].cursor);

    const more = await query.fetchMore({ variables: { after: page1.pageInfo.endCursor } });
    const page2 = more.data.thread.messages;
    assert.equal(page2.edges.length, 1);
    assert.notEqual(page2.edges[0].node.id, page1.edges[0].node.id);

    // The second page continues the first: asking for two from the start gives both, in order.
    const { data: both } = await client.query({
      query: gql`
        query Two($id: ID!) {
          thread(id: $id) { id messages(first: 2) { edges { cursor node { id } } } }
        }
      `,
      variables: { id: DEMO_THREAD_ID },
      fetchPolicy: "no-cache",
    });
    assert.deepEqual(
      both.thread.messages.edges.map((edge) => edge.cursor),
      [page1.edges[0].cursor, page2.edges[0].cursor],
    );

    // The typePolicy merged both pages into the cached thread.
    const merged = query.getCurrentResult().data.thread.messages;
    assert.deepEqual(
      merged.edges.map((edge) => edge.node.id),
      [page1.edges[0].node.id, page2.edges[0].node.id],
    );
    assert.equal(merged.pageInfo.endCursor, page2.pageInfo.endCursor);
    const cached = client.readQuery({ query: THREAD_PAGE, variables: { id: DEMO_THREAD_ID } });
    assert.equal(cached.thread.messages.edges.length, 2);
  } finally {
    subscription.unsubscribe();
  }
});

test("postMessage posts as the signed-in member", async () => {
  const body = `Posted by Apollo Client at ${new Date().toISOString()}`;
  const { data } = await client.mutate({
    mutation: POST_MESSAGE,
    variables: { input: { threadId: DEMO_THREAD_ID, body } },
  });
  assert.deepEqual(data.postMessage.userErrors, []);
  assert.equal(data.postMessage.message.body, body);
  assert.equal(data.postMessage.message.author.username, "alice");
  assert.equal(data.postMessage.message.thread.id, DEMO_THREAD_ID);
});

test("an empty message is a BODY_EMPTY userError", async () => {
  const { data } = await client.mutate({
    mutation: POST_MESSAGE,
    variables: { input: { threadId: DEMO_THREAD_ID, body: "" } },
  });
  assert.equal(data.postMessage.message, null);
  assert.deepEqual(
    data.postMessage.userErrors.map((error) => error.code),
    ["BODY_EMPTY"],
  );
});

test("updateProfile changes the bio, and it reads back", async () => {
  const bio = `Walking 10k steps a day (${Date.now()})`;
  const { data } = await client.mutate({ mutation: UPDATE_PROFILE, variables: { input: { bio } } });
  assert.deepEqual(data.updateProfile.userErrors, []);
  assert.equal(data.updateProfile.user.profile.bio, bio);

  const { data: read } = await client.query({
    query: PROFILE,
    variables: { username: "alice" },
    fetchPolicy: "network-only",
  });
  assert.equal(read.user.profile.bio, bio);
});

test("no response shows the client's address", () => {
  assertNoClientAddress();
});
