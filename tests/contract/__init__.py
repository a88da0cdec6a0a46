"""Contract conformance: the running server against the customer's OpenAPI contract.

The contract is ``../shared/contract/openapi.yaml`` (beside the checkout, as in CI), or the file
named by ``AIMEETING_CONTRACT_SPEC``. Without it these tests skip, saying so.

What is checked, all over real HTTP against real servers (SQLite and PostgreSQL):
- every path and method of the contract is served under ``/v1`` and described in our own
  ``/v1/openapi.json`` (same operationIds, same security, every error code the contract lists);
- Swagger UI and the served document exist; extensions are marked ``x-extension: true``;
- real responses of a realistic scenario validate against the contract's schemas (OpenAPI 3.0
  converted to JSON Schema in ``tests/utils/contract.py``), strictly for 2xx: every property the
  contract lists is present, timestamps are RFC 3339 in UTC with ``Z``;
- schemathesis (pinned 4.32.5) fuzzes the server with the contract's spec.
"""
