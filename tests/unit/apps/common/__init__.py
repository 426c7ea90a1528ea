"""Tests of the pieces the Streamlit apps share."""
