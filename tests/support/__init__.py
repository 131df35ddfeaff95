"""What the tests share: the harness, members and forums, mail, request documents and SQL
counting. Nothing here is a test, and nothing here imports a test module."""
