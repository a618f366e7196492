"""The Streamlit cockpit's shared code: users and roles, the audit log, data access, page queries, UI helpers."""
