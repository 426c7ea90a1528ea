"""Page-level tests of the apps under AppTest."""
