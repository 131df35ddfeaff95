"""What the tests share; nothing here is a test, and nothing here imports a test module
(tests/test_test_imports.py holds both rules).

- harness: the IP-scanning GraphQL client, the app in process, databases, real servers
- members: `member()` (every way a test makes a member), `register()`, `confirmed_member()`
- forum: forums, threads and conversations through the API, Relay IDs, coded errors
- mail: the mailbox the `mailbox` fixture scans, links in mails, a real SMTP server
- documents: the request documents several modules send, by name, and their answers
- privacy: ada, her private fields and her viewers, for the privacy tests
- websockets, http, cost, links, accounts, addresses: the helpers of one concern that
  several modules share (sockets, HTTP answers, query cost, message links, waiting for
  account work, every kind of write from its own address)
- sqlcount: counting the SQL statements of a block
"""
