"""The user-facing applications: three Streamlit apps (enterprise, bank, regulator) and the Dash wall."""
