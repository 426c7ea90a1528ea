"""What the Streamlit apps share: the current actor, the language switch, widgets and cached reads."""
