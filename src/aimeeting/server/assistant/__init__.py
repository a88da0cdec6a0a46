"""The meeting assistant's side of the server (docs/assistant.md): its account, invitations."""
