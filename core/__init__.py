"""Jinfu core: data model, services and pure engines shared by every app."""
