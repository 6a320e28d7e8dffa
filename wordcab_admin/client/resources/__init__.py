"""One module per part of the API: `client.agents`, `client.calls`, `client.campaigns`, `client.numbers`,
`client.do_not_call`, `client.audit_events`."""
