// Shared helpers for the client end-to-end tests (not a test file itself).
//
// FORUM_URL is the server's base URL, e.g. http://127.0.0.1:8000; scripts/client-e2e
// starts a real uvicorn on seeded demo data and sets it.
import assert from "node:assert/strict";

export const BASE_URL = (process.env.FORUM_URL ?? "").replace(/\/+$/, "");
if (!BASE_URL) {
  throw new Error("Set FORUM_URL to the server's base URL, e.g. http://127.0.0.1:8000");
}
export const ORIGIN = new URL(BASE_URL).origin;
export const GRAPHQL_URL = `${BASE_URL}/graphql`;
export const WS_URL = GRAPHQL_URL.replace(/^http/, "ws");
export const PASSWORD = "forum-demo-2026";
export const DEMO_THREAD_ID = "VGhyZWFkOjE"; // base64 "Thread:1"
export const CLIENT_ADDRESS = "127.0.0.1";

/** Every response body and WebSocket message seen, to check none shows the client address. */
export const seenBodies = [];

/**
 * A fetch that keeps cookies like a browser would: stores `set-cookie` from responses
 * and sends them back as `cookie`. Node's fetch has no cookie jar of its own.
 * It also sends the page's Origin, as a browser on the server's own site does.
 */
export function cookieFetch() {
  const jar = new Map();
  const fetchWithCookies = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) {
      headers.set("cookie", [...jar].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    headers.set("origin", ORIGIN);
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const index = pair.indexOf("=");
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, val = ""] = attribute.trim().split("=");
        const lower = key.toLowerCase();
        return (lower === "max-age" && Number(val) <= 0) ||
          (lower === "expires" && Date.parse(val) <= Date.now());
      });
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    seenBodies.push(await response.clone().text());
    return response;
  };
  fetchWithCookies.jar = jar;
  fetchWithCookies.cookieHeader = () =>
    [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  return fetchWithCookies;
}

/** Plain GraphQL over HTTP with a cookie-keeping fetch (for the "other member"). */
export async function post(fetcher, query, variables = {}) {
  const response = await fetcher(GRAPHQL_URL, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  assert.equal(response.status, 200, `HTTP ${response.status}`);
  const result = await response.json();
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data;
}

export const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { user { id username } userErrors { field message code } }
  }
`;

export async function signIn(fetcher, username) {
  const data = await post(fetcher, LOGIN, { input: { login: username, password: PASSWORD } });
  assert.deepEqual(data.login.userErrors, []);
  assert.equal(data.login.user.username, username);
  assert.ok(fetcher.jar.has("session"), "login set no session cookie");
  return data.login.user;
}

export function assertNoClientAddress() {
  assert.ok(seenBodies.length > 0, "no responses were recorded");
  for (const body of seenBodies) {
    assert.ok(!body.includes(CLIENT_ADDRESS), `a response shows ${CLIENT_ADDRESS}: ${body.slice(0, 300)}`);
  }
}
