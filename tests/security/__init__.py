"""The attack checklist (SECURITY.md sections A to K): one module per section, one test per row."""
